"""Carrying a live session on a real icecast2: WebM/Opus chunks (what Chromium's MediaRecorder sends, made
here by ffmpeg) reach the session's mount; a browser that goes silent ends the session after the grace period
with a log entry and the recording archived; audio the encoder cannot read ends it as failed."""

import logging
import subprocess
import time
from pathlib import Path

import pytest

from domain.errors import InvalidInput
from tests.agent.conftest import wait_for
from tests.streams.test_relays import _audit


def _webm(tmp_path: Path, seconds: int = 4) -> bytes:
    out = tmp_path / "mic.webm"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}",
                    "-c:a", "libopus", "-b:a", "32k", "-live", "1", "-f", "webm", str(out)], check=True)
    return out.read_bytes()


def _start(area: str = "29377") -> int:
    from services import live
    from services.runtime import session

    with session() as s:
        return live.start(s, area_codes=[area], actor="approver_daloc", title="Họp khẩn").id


def _on_air(tmp_path: Path) -> tuple[int, bytes]:
    """A session whose browser sent four seconds of WebM/Opus, on its mount: its id and the audio."""
    from services import live_air

    session_id = _start()
    data = _webm(tmp_path)
    try:
        for n in range(0, len(data), 2000):
            live_air.push(session_id, data[n:n + 2000], actor="approver_daloc")
        wait_for(lambda: live_air.carrying(session_id), 10, "the session on its mount")
    except BaseException:
        live_air.end_all()
        raise
    return session_id, data


def test_a_silent_browser_ends_the_session_after_the_grace_and_the_recording_is_archived(
        icecast: object, accounts: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from services import live, live_air
    from services.runtime import session
    from storage.models_archive import ArchiveEntryRecord

    session_id, data = _on_air(tmp_path)
    try:
        assert f"/area-live-{session_id}.mp3" in icecast.sources()  # type: ignore[attr-defined]
        assert live_air.sweep(time.monotonic() + 5.0) == []  # within the 10 s grace
        with caplog.at_level(logging.WARNING, logger="services.live_air"):
            assert live_air.sweep(time.monotonic() + 11.0) == [(session_id, "dropped")]
    finally:
        live_air.end_all()
    assert any("the browser sent nothing" in r.getMessage() for r in caplog.records)
    with session() as s:
        rec = live.get(s, session_id)
        assert (rec.status, rec.end_reason) == ("ended", "dropped")
        entry = s.get(ArchiveEntryRecord, rec.archive_entry_id)
        assert (entry.title, entry.source_name, entry.recording_key) == ("Họp khẩn", f"live-{session_id}",
                                                                          rec.recording_key)
    assert [(e["actor"], e["reason"]) for e in _audit("live.stop")] == [("system", "dropped")]
    assert [e["entity_id"] for e in _audit("live.archived")] == [str(session_id)]
    with session() as s, pytest.raises(InvalidInput, match="not on air"):  # late chunks are refused
        live_air.push(session_id, data[:100], actor="approver_daloc")


def test_audio_the_encoder_cannot_read_ends_the_session_as_failed(icecast: object, accounts: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    from services import live, live_air
    from services.runtime import session

    session_id = _start()
    try:
        for _ in range(20):  # a browser sending something that is no audio (ffmpeg keeps looking for a format)
            live_air.push(session_id, b"this is not audio at all " * 400, actor="approver_daloc")
        time.sleep(1.0)
        assert live_air.sweep(time.monotonic()) == []  # still within the grace
        with caplog.at_level(logging.WARNING, logger="services.live_air"):
            assert live_air.sweep(time.monotonic() + 11.0) == [(session_id, "failed")]
    finally:
        live_air.end_all()
    assert any("never put the audio on the mount" in r.getMessage() for r in caplog.records)
    with session() as s:
        rec = live.get(s, session_id)
        assert (rec.status, rec.end_reason, rec.archive_entry_id) == ("ended", "failed", None)


def test_only_an_officer_of_the_area_may_feed_it_and_chunks_are_bounded(accounts: Path) -> None:
    from domain.errors import Forbidden
    from services import live_air

    session_id = _start()
    with pytest.raises(Forbidden):
        live_air.push(session_id, b"x", actor="approver_mychanh")
    with pytest.raises(InvalidInput, match="1 to"):
        live_air.push(session_id, b"", actor="approver_daloc")
    assert live_air.on_air() == []


def test_a_session_ended_elsewhere_stops_its_feed_and_a_fed_one_is_kept_alive(
        icecast: object, accounts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from services import carriers, live, live_air
    from services.runtime import session

    session_id, _ = _on_air(tmp_path)
    try:
        before = datetime.now(UTC)
        monkeypatch.setattr(live_air, "_pulse", carriers.Pulse())  # a beat is due
        assert live_air.sweep(time.monotonic()) == []
        with session() as s:
            assert live.get(s, session_id).updated_at.replace(tzinfo=UTC) >= before
            assert live.sweep_orphans(s, datetime.now(UTC)) == []  # fed here: not an orphan
            live.stop(s, session_id, actor="approver_daloc")  # as ``bantin live stop`` does, in another process
        assert live_air.sweep() == [(session_id, "stopped")]
        assert live_air.on_air() == []
        wait_for(lambda: f"/area-live-{session_id}.mp3" not in icecast.sources(), 10,  # type: ignore[attr-defined]
                 "the mount to be released")
    finally:
        live_air.end_all()
    with session() as s:
        rec = live.get(s, session_id)
        assert (rec.status, rec.end_reason) == ("ended", "stopped") and rec.archive_entry_id is not None
