"""Audio drafts: a recording becomes revision 1 (an unreviewed machine transcript), kept and correctable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.drafts import draft_app
from cli.main import seed_demo_users
from domain.drafts import MACHINE_TRANSCRIPT_MARK, SourceKind, is_unreviewed_transcript
from domain.errors import Forbidden, InvalidInput
from engines import asr
from engines.errors import MediaError
from services import drafts as draft_service
from services.runtime import object_store, session
from settings import get_settings
from storage.migrate import upgrade
from storage.repositories import areas, audit, drafts
from tests.asr.conftest import Speech, cer, write_wav

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture
def app(bantin_env: Path, ffmpeg_ok: None) -> Iterator[Path]:
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        seed_demo_users(s)
    yield bantin_env


def request(**kw: object) -> draft_service.DraftRequest:
    fields: dict[str, object] = dict(body="", area_codes=["29377"], languages="vi,km", priority="thuong",
                                     author="demo-editor")
    fields.update(kw)
    return draft_service.DraftRequest(**fields)  # type: ignore[arg-type]


def fake_transcriber(text: str):  # noqa: ANN201 - a stand-in with asr.transcribe's signature
    def transcribe(path: Path, *, language: str | None = None) -> asr.Transcript:
        return asr.Transcript(language=language or "vi", language_probability=1.0, text=text,
                              segments=(asr.Segment(0.0, 2.0, text),), engine="fake", engine_version="0",
                              model="fake", model_sha256="", duration_s=2.0, speech_s=2.0)
    return transcribe


def stored_keys() -> list[str]:
    return list(object_store().keys())  # type: ignore[attr-defined]


@pytest.mark.slow
def test_recording_becomes_an_editable_transcript(app: Path, speech: Speech, whisper: object) -> None:
    out = runner.invoke(draft_app, ["submit", str(speech.path), "--area", "29377", "--lang", "vi,km",
                                    "--as", "demo-editor"])
    assert out.exit_code == 0, (out.output, out.exception)
    assert "draft 1 submitted" in out.output and "UNREVIEWED MACHINE TRANSCRIPT" in out.output

    with session() as s:
        rev = drafts.latest_revision(s, 1)
        log = audit.entries(s, entity="draft", entity_id=1)
    assert rev.number == 1 and rev.source_kind is SourceKind.AUDIO
    assert rev.content.languages == ("vi", "km") and rev.content.title == "Ghi âm sáu giọng đọc"
    assert is_unreviewed_transcript(rev) and rev.note.startswith(MACHINE_TRANSCRIPT_MARK)
    assert cer(speech.reference, rev.content.body) < 0.25, rev.content.body
    # The recording is kept byte for byte under its content address.
    assert rev.source_key is not None and rev.source_key.endswith(".wav")
    assert object_store().get_bytes(rev.source_key) == speech.path.read_bytes()
    assert hashlib.sha256(speech.path.read_bytes()).hexdigest() in rev.source_key
    detail = log[-1].detail
    assert (detail["engine"], detail["model"], detail["language"]) == ("faster-whisper", "whisper-base", "vi")
    segments = json.loads(object_store().get_bytes(detail["transcript_key"]))
    assert segments["segments"][0]["start"] == 0.0 and len(segments["segments"]) >= 3
    assert detail["transcript_key"] in rev.note

    shown = runner.invoke(draft_app, ["show", "1"])
    assert shown.exit_code == 0 and rev.content.body in shown.output

    corrected = app / "corrected.txt"
    corrected.write_text("Thông báo của xã\nAnh chỉ muốn được nhìn nhận như là một huấn luyện viên. "
                         "Nuôi con theo phong cách Do Thái.", encoding="utf-8")
    edited = runner.invoke(draft_app, ["edit", "1", str(corrected), "--as", "demo-editor"])
    assert edited.exit_code == 0, (edited.output, edited.exception)
    with session() as s:
        first, second = drafts.revision_by_id(s, 1), drafts.latest_revision(s, 1)
    assert second.number == 2 and second.content.title == "Thông báo của xã"
    assert (second.source_kind, second.source_key) == (SourceKind.AUDIO, rev.source_key)  # still from the recording
    assert not is_unreviewed_transcript(second) and "demo-editor" in second.note
    assert first == rev  # revision 1 is untouched
    assert second.content.area_codes == rev.content.area_codes and second.content.languages == ("vi", "km")

    same = runner.invoke(draft_app, ["edit", "1", str(corrected), "--as", "demo-editor"])
    assert isinstance(same.exception, InvalidInput) and "nothing changed" in str(same.exception)


def test_text_drafts_are_edited_with_their_new_text_kept(app: Path) -> None:
    with session() as s:
        rev = draft_service.submit_text_draft(s, object_store(), request(
            body="Thông báo cắt điện\nĐiện lực thông báo cắt điện từ 7 giờ đến 11 giờ ngày mai."))
    text = "Thông báo cắt điện\nĐiện lực thông báo cắt điện từ 8 giờ đến 11 giờ ngày mai."
    with session() as s:
        new = draft_service.edit_draft(s, object_store(), draft_id=rev.draft_id, text=text, author="demo-editor")
    assert new.number == 2 and new.source_kind is SourceKind.TEXT
    assert object_store().get_bytes(new.source_key or "") == text.encode("utf-8")
    with session() as s, pytest.raises(Forbidden, match="editor role"):
        draft_service.edit_draft(s, object_store(), draft_id=rev.draft_id, text=text + "!", author="demo-approver")
    with session() as s, pytest.raises(InvalidInput, match="too short"):
        draft_service.edit_draft(s, object_store(), draft_id=rev.draft_id, text="Tiêu đề\nngắn", author="demo-editor")


def test_bad_recordings_store_nothing(app: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"ID3" + b"\x00" * 50)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    cases: list[tuple[Path, draft_service.DraftRequest, type[Exception], str]] = [
        (corrupt, request(), MediaError, "not a readable media file"),
        (empty, request(), MediaError, "empty"),
        (tmp_path / "missing.mp3", request(), InvalidInput, "file not found"),
        (corrupt, request(area_codes=["99999"]), InvalidInput, "unknown area"),
        (corrupt, request(author="demo-approver"), Forbidden, "editor role"),
    ]
    for path, req, error, message in cases:
        with pytest.raises(error, match=message):
            draft_service.submit_audio_draft(session, object_store(), req, path, transcribe=fake_transcriber("x"))
    assert stored_keys() == []
    with session() as s:
        assert drafts.list_drafts(s) == []


def test_a_recording_too_long_for_a_draft_is_refused_before_transcribing(app: Path, long_recording: Path) -> None:
    def must_not_run(path: Path, *, language: str | None = None) -> asr.Transcript:
        raise AssertionError("transcribed a 40-minute recording")

    with pytest.raises(InvalidInput, match="lasts 40 minutes; an audio draft may last at most 30"):
        draft_service.submit_audio_draft(session, object_store(), request(), long_recording, transcribe=must_not_run)
    assert stored_keys() == []


def test_speechless_or_too_short_recordings_keep_the_recording_but_make_no_draft(
    app: Path, tmp_path: Path, whisper: object
) -> None:
    silent = write_wav(tmp_path / "silent.wav", np.zeros(16000 * 5), 16000)
    with pytest.raises(MediaError, match="no speech found"):
        draft_service.submit_audio_draft(session, object_store(), request(), silent)
    short = write_wav(tmp_path / "short.wav", (np.sin(np.arange(16000 * 3) / 5) * 8000), 16000)
    with pytest.raises(InvalidInput, match="transcript of short.wav is too short"):
        draft_service.submit_audio_draft(session, object_store(), request(), short, transcribe=fake_transcriber("Alo"))
    assert len(stored_keys()) == 2  # both recordings kept (content-addressed), no transcript, no draft
    with session() as s:
        assert drafts.list_drafts(s) == []


def test_retranscribing_never_buries_an_editors_work(app: Path, tmp_path: Path) -> None:
    recording = write_wav(tmp_path / "r.wav", (np.sin(np.arange(16000 * 3) / 5) * 8000), 16000)
    first = fake_transcriber("Ủy ban nhân dân xã thông báo lịch tiêm chủng.")
    rev, _ = draft_service.submit_audio_draft(session, object_store(), request(), recording, transcribe=first)
    again = draft_service.retranscribe_draft(session, object_store(), rev.draft_id, transcribe=first)
    assert again.number == 1  # same text: nothing added

    better = fake_transcriber("Ủy ban nhân dân xã thông báo lịch tiêm chủng sởi.")
    assert draft_service.retranscribe_draft(session, object_store(), rev.draft_id, transcribe=better).number == 2
    with session() as s:
        draft_service.edit_draft(s, object_store(), draft_id=rev.draft_id, author="demo-editor",
                                 text="Lịch tiêm chủng\nỦy ban nhân dân xã thông báo lịch tiêm chủng vắc-xin sởi.")
    with pytest.raises(InvalidInput, match="editor's corrections"):
        draft_service.retranscribe_draft(session, object_store(), rev.draft_id, transcribe=first)
    forced = draft_service.retranscribe_draft(session, object_store(), rev.draft_id, transcribe=first, force=True)
    assert forced.number == 4 and is_unreviewed_transcript(forced)
    with session() as s:
        text_rev = draft_service.submit_text_draft(s, object_store(), request(
            body="Lịch cắt điện\nĐiện lực thông báo cắt điện từ 7 giờ đến 11 giờ."))
    with pytest.raises(InvalidInput, match="no recording"):
        draft_service.retranscribe_draft(session, object_store(), text_rev.draft_id, transcribe=first)


@pytest.mark.slow
@pytest.mark.flow
def test_transcribe_flow_runs_through_prefect(app: Path, prefect_harness: None,
                                              vieneu_clips: list[tuple[Path, str]], whisper: object) -> None:
    from flows.transcribe import transcribe_draft

    clip = vieneu_clips[3][0]  # one 4.5 s clip keeps the three transcriptions short
    rev, _ = draft_service.submit_audio_draft(session, object_store(), request(), clip)
    assert transcribe_draft(rev.draft_id) == 1  # same model, same recording: no new revision
    with session() as s:
        draft_service.edit_draft(s, object_store(), draft_id=rev.draft_id, author="demo-editor",
                                 text="Tiêu đề đã sửa\n" + rev.content.body)
    with pytest.raises(InvalidInput, match="editor's corrections"):
        transcribe_draft(rev.draft_id)
    assert transcribe_draft(rev.draft_id, force=True) == 3
    with session() as s:
        latest = drafts.latest_revision(s, rev.draft_id)
        log = audit.entries(s, entity="draft", entity_id=rev.draft_id)
    assert is_unreviewed_transcript(latest) and latest.content.body == rev.content.body
    assert log[-1].action == "draft.transcribed" and log[-1].detail["model"] == "whisper-base"
