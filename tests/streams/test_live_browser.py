"""A live session from a phone: headless Chromium with a fake microphone goes on air for Đa Lộc, a real device
agent (null sink, which decodes the stream) plays it within 5 s, and the recording is in the archive after
the stop. The box polls only every 30 s: the switch within 5 s is the MQTT nudge (real Mosquitto).
Real icecast2, real ffmpeg, the real web app and a ``bantin-device`` process."""

import base64
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import AgentProcess, mqtt_broker, wait_for  # noqa: F401 (a fixture)
from tests.streams.test_live_devices import start_box
from tests.web.conftest import CHROMIUM, PASSWORD, PHONE, assert_accessible, no_horizontal_scroll, sign_in

ON_AIR_S = 5.0


@pytest.fixture
def phone(playwright_driver: object) -> Iterator[object]:
    browser = playwright_driver.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream"])
    yield browser
    browser.close()


@pytest.mark.slow
def test_a_live_session_from_a_phone_reaches_a_device_and_is_archived(
        icecast: object, web_url: str, phone: object, mqtt_broker: tuple[str, int], tmp_path: Path,  # noqa: F811
        record_property: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    from domain.approvals import Role
    from domain.areas import AreaLevel
    from domain.users import Membership
    from engines.ffmpeg import probe
    from services import live_air, signing
    from services.runtime import object_store, session
    from settings import get_settings
    from storage.models_archive import ArchiveEntryRecord
    from storage.models_devices import PlayLogRecord
    from storage.models_live import LiveSessionRecord
    from storage.repositories import users

    monkeypatch.setenv("BANTIN_MQTT_HOST", mqtt_broker[0])
    monkeypatch.setenv("BANTIN_MQTT_PORT", str(mqtt_broker[1]))
    get_settings.cache_clear()
    with session() as s:
        users.add_user(s, username="approver_daloc", full_name="Phó chủ tịch xã",
                       memberships=[Membership(Role.APPROVER, "29377", level=AreaLevel.COMMUNE)], password=PASSWORD)
        users.add_user(s, username="admin", full_name="Quản trị", roles=[Role.ADMIN])
    key = base64.b64encode(signing.listed_keys()[0].public_key).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANTIN_")}
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    agent = AgentProcess("loa-1", tmp_path / "loa-1", ["--server", web_url, "--area-code", "29377", "--kind",
                                                         "speaker", "--trust", key, "--poll-interval", "30",
                                                         "--mqtt", f"mqtt://{mqtt_broker[0]}:{mqtt_broker[1]}",
                                                         "--player", "null", "--log-level", "INFO"], env)
    context = phone.new_context(viewport=PHONE, locale="vi-VN")  # type: ignore[attr-defined]
    context.grant_permissions(["microphone"], origin=web_url)
    page = context.new_page()
    try:
        device_id = start_box(agent)
        wait_for(lambda: agent.status().get("mqtt_connected"), 30, "the box to listen on MQTT")

        sign_in(page, web_url, "approver_daloc")
        page.goto(f"{web_url}/live")
        page.fill("#live-areas", "29377")
        page.fill("#live-title", "Thông báo khẩn của xã")
        page.click("#live-start")
        page.wait_for_selector("#live[data-session]", timeout=15000)
        on_air = time.time()
        session_id = int(page.get_attribute("#live", "data-session") or 0)
        assert page.text_content("#live-state") == "Đang phát trực tiếp"

        def hearing() -> float | None:
            stream = agent.status().get("stream") or {}
            return stream.get("connected_at") if stream.get("item_id") == f"live-{session_id}" else None
        try:
            connected = wait_for(hearing, 30, "the box to play the live session")
        except AssertionError:
            raise AssertionError(agent.tail()) from None
        record_property("live_audio_after_start_s", round(connected - on_air, 2))
        assert connected - on_air <= ON_AIR_S, (connected - on_air, agent.tail())
        time.sleep(3)  # some speech to archive
        page.click("#live-stop")
        page.wait_for_selector("#live[data-stopped]", timeout=120000)
        with session() as s:
            rec = s.get(LiveSessionRecord, session_id)
            assert (rec.status, rec.end_reason, rec.started_by) == ("ended", "stopped", "approver_daloc")
            entry = s.get(ArchiveEntryRecord, rec.archive_entry_id)
            assert entry is not None and entry.title == "Thông báo khẩn của xã"
            assert (entry.recording_key, entry.area_codes, entry.source_name) == (
                rec.recording_key, ["29377"], f"live-{session_id}")
        copy = tmp_path / "copy.mp3"
        object_store().download(rec.recording_key, copy)
        seconds = probe(copy).duration_s
        assert seconds > 5.0, seconds  # on air from the start to the stop (about 8 s)
        record_property("recording_s", round(seconds, 1))
        wait_for(lambda: agent.status().get("playing") != f"live-{session_id}", 15, "the box to leave the live stream")

        def logged() -> list[tuple[str, bool]]:
            with session() as s:
                return [(r.item_id, r.completed) for r in s.query(PlayLogRecord).filter_by(device_id=device_id)]
        # The play log goes up with a poll: the stop's nudge may come before the player wrote it, and then the
        # next poll is up to 30 s away.
        # The officer ended the session: the box heard it to its end, so the play is complete, not interrupted.
        assert wait_for(logged, 75, "the box to report the live play") == [(f"live-{session_id}", True)]
        page.goto(f"{web_url}/live")  # the session's proof of play, on a 360 px phone
        proof = " ".join((page.text_content(f".proof[data-session='{session_id}']") or "").split())
        assert proof.startswith("Thiết bị đã phát: 1/1 · Lượt phát trọn vẹn: 1/1 · Đã phát "), proof
        assert no_horizontal_scroll(page)
        assert_accessible(page)
    finally:
        context.close()
        agent.stop()
        live_air.end_all()
