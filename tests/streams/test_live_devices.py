"""An emergency live session on a real device agent: it cuts an emergency file that is playing, plays during
the area's quiet hours, and is logged as completed when the officer stops it. Real icecast2, the real web app,
a ``bantin-device`` process with the null sink (which decodes the stream), audio pushed like a browser's."""

import base64
import os
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.agent.conftest import AgentProcess, wait_for


def _long_emergency(tmp_path: Path) -> str:
    """A published emergency for Đa Lộc whose audio is a 90 s tone (long enough to be cut); its manifest."""
    from services.runtime import object_store, session
    from storage.models import AssetRecord
    from tests.devices.factory import published_package

    mp3 = tmp_path / "lu.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=1200:duration=90",
                    "-c:a", "libmp3lame", "-b:a", "32k", str(mp3)], check=True)
    _, manifest = published_package(title="Cảnh báo lũ quét", areas=("29377",), languages="vi",
                                    priority="khan_cap", expires_at=datetime.now(UTC) + timedelta(minutes=10))
    stored = object_store().put_file(mp3, ext="mp3", media_type="audio/mpeg")
    with session() as s:
        for rec in s.query(AssetRecord).filter_by(kind="audio"):
            rec.key, rec.sha256, rec.size = stored.key, stored.sha256, stored.size
    return manifest


def start_box(agent: AgentProcess) -> int:
    """Start the first box of a test and authorise it once it registered; its device id."""
    from services import devices
    from services.runtime import session
    from storage.models_devices import DeviceRecord

    agent.start()

    def registered() -> int | None:
        with session() as s:
            found = s.query(DeviceRecord).first()
            return found.id if found else None
    device_id: int = wait_for(registered, 30, "the box to register")
    with session() as s:
        devices.authorise(s, device_id, username="admin")
    return device_id


def _browser(session_id: int, data: bytes, stop: threading.Event) -> None:
    """Push the recording in slices at about the pace a browser's MediaRecorder sends them."""
    from services import live_air

    for n in range(0, len(data), 4000):
        if stop.is_set():
            return
        live_air.push(session_id, data[n:n + 4000], actor="approver_daloc")
        stop.wait(0.9)


@pytest.mark.slow
def test_an_emergency_live_session_cuts_an_emergency_file_in_quiet_hours(
        icecast: object, accounts: Path, web_url: str, tmp_path: Path) -> None:
    from domain.programs import VN_TZ
    from services import live, live_air, program_admin, signing
    from services.runtime import session
    from storage.models_devices import PlayLogRecord
    from tests.streams.test_live_air import _webm

    local = datetime.now(UTC).astimezone(VN_TZ)
    with session() as s:  # quiet hours around now: only emergencies may sound
        program_admin.set_quiet_hours(s, area_code="29377", actor="admin", text=(
            f"{(local - timedelta(hours=1)):%H:%M}-{(local + timedelta(hours=1)):%H:%M}"))
    emergency = _long_emergency(tmp_path)
    key = base64.b64encode(signing.listed_keys()[0].public_key).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANTIN_")}
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    agent = AgentProcess("loa-1", tmp_path / "loa-1", ["--server", web_url, "--area-code", "29377", "--kind",
                                                      "speaker", "--trust", key, "--poll-interval", "2", "--player",
                                                      "null", "--log-level", "INFO"], env)
    stop = threading.Event()
    browser = None
    try:
        device_id = start_box(agent)
        wait_for(lambda: (agent.status().get("playing") or "").startswith(emergency[:16]), 30,
                 "the box to play the emergency file")

        with session() as s:
            session_id = live.start(s, area_codes=["29377"], actor="approver_daloc", emergency=True,
                                    title="Sơ tán khẩn cấp").id
        browser = threading.Thread(target=_browser, args=(session_id, _webm(tmp_path, 40), stop), daemon=True)
        browser.start()
        wait_for(lambda: agent.status().get("playing") == f"live-{session_id}", 30,
                 "the emergency live session to cut the emergency file")
        wait_for(lambda: (agent.status().get("stream") or {}).get("connected_at"), 20, "live audio on the box")
        stop.set()  # the officer presses stop: the page stops sending, then ends the session
        browser.join(5)
        live_air.end(session_id, "stopped", actor="approver_daloc")

        def logged() -> list[tuple[str, str, bool]]:
            with session() as s:
                rows = s.query(PlayLogRecord).filter_by(device_id=device_id).order_by(PlayLogRecord.started_at)
                found = [(r.item_id, r.trigger, r.completed) for r in rows]
            return found if len(found) >= 2 else []
        plays = wait_for(logged, 60, "the box to report both plays")
    finally:
        stop.set()
        if browser is not None:
            browser.join(5)
        agent.stop()
        live_air.end_all()
    assert plays[:2] == [(f"{emergency[:16]}.vi", "emergency", False),  # cut by the live session
                         (f"live-{session_id}", "emergency", True)], agent.tail()  # heard to the officer's stop
