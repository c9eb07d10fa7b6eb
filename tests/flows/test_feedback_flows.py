"""The feedback flows under Prefect: a voice message's transcript, and the retention run."""

import io
import wave
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engines import asr
from services import feedback_intake as intake
from services.runtime import object_store, session
from settings import get_settings
from storage.migrate import upgrade
from storage.models_feedback import FeedbackRecord
from storage.repositories import areas

pytestmark = [pytest.mark.flow, pytest.mark.integration]


@pytest.fixture
def home(bantin_env: Path, prefect_harness: None) -> Iterator[Path]:
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
    yield bantin_env


def voice() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 32000)
    return buf.getvalue()


def test_transcribe_and_retention_flows(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.feedback import erase_expired_feedback_contacts, transcribe_feedback

    with session() as s:
        r = intake.submit(s, object_store(), intake.Submission(
            area_code="29377", category="broadcast_not_heard", text="Loa ở ấp Phú Hòa mấy hôm nay không nghe được.",
            voice=voice(), voice_filename="loa.wav", contact_phone="0912345678", contact_consent=True),
            now=datetime(2024, 3, 1, tzinfo=UTC))

    def fake(path: Path, language: str | None = None) -> asr.Transcript:
        return asr.Transcript(language="vi", language_probability=1.0, text="Loa không nghe được.", segments=(),
                              engine="fake", engine_version="0", model="fake", model_sha256="", duration_s=2.0,
                              speech_s=2.0)

    monkeypatch.setattr(asr, "transcribe", fake)
    assert transcribe_feedback(r.feedback_id) == len("Loa không nghe được.")
    assert erase_expired_feedback_contacts(30) == 1
    assert erase_expired_feedback_contacts(30) == 0
    with session() as s:
        rec = s.get(FeedbackRecord, r.feedback_id)
        assert (rec.voice_transcript, rec.contact_phone, rec.voice_key) == ("Loa không nghe được.", None, None)
