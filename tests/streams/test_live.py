"""Live sessions through the service: who may go live, one session per area, the maximum length, relays
refusing an ordinary session and yielding to an emergency one, the audit log, and the stream items devices
get (live before relays, a listen URL per device)."""

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.errors import Forbidden, InvalidInput
from tests.streams.test_relays import _audit, _source
from web.officer_text import error_text

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def _live_ids() -> list[int]:
    from services import live
    from services.runtime import session

    with session() as s:
        return [r.id for r in live.live_sessions(s)]


def test_an_approver_goes_live_once_per_area_and_every_start_and_stop_is_audited(accounts: Path) -> None:
    from services import live
    from services.runtime import session

    with session() as s:
        first = live.start(s, area_codes=["29377"], actor="approver_daloc", title="Thông báo  họp dân", now=T0)
        assert (first.mount, first.title, first.status) == (f"/area-live-{first.id}.mp3", "Thông báo họp dân", "live")
        assert first.deadline.replace(tzinfo=UTC) == datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    with session() as s, pytest.raises(InvalidInput) as busy:
        live.start(s, area_codes=["29380", "29377"], actor="approver_chauthanh", now=T0 + timedelta(minutes=1))
    assert error_text("vi", busy.value) == (
        f"Địa bàn 29377 đang có buổi phát trực tiếp khác (buổi {first.id} của approver_daloc).")
    with session() as s, pytest.raises(Forbidden):
        live.start(s, area_codes=["29380"], actor="approver_daloc", now=T0)
    with session() as s, pytest.raises(Forbidden):
        live.start(s, area_codes=["29380"], actor="editor_mychanh", now=T0)
    with session() as s:
        other = live.start(s, area_codes=["29380"], actor="approver_mychanh", now=T0 + timedelta(minutes=2))
    assert _live_ids() == [first.id, other.id]
    with session() as s, pytest.raises(Forbidden):
        live.stop(s, first.id, actor="approver_mychanh")
    with session() as s:
        live.stop(s, first.id, actor="approver_daloc", now=T0 + timedelta(minutes=5))
        live.stop(s, first.id, actor="approver_daloc", now=T0 + timedelta(minutes=6))  # changes nothing
    assert _live_ids() == [other.id]
    with session() as s:  # the area is free again
        again = live.start(s, area_codes=["29377"], actor="admin", now=T0 + timedelta(minutes=7))
    assert [(e["actor"], e["entity_id"], e["area_codes"]) for e in _audit("live.start")] == [
        ("approver_daloc", str(first.id), ["29377"]), ("approver_mychanh", str(other.id), ["29380"]),
        ("admin", str(again.id), ["29377"])]
    assert [(e["actor"], e["entity_id"], e["reason"], e["seconds"]) for e in _audit("live.stop")] == [
        ("approver_daloc", str(first.id), "stopped", 300.0)]


def test_a_session_stops_at_its_maximum_length(accounts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services import live
    from services.runtime import session
    from settings import get_settings

    monkeypatch.setenv("BANTIN_LIVE_MAX_MINUTES", "10")
    get_settings.cache_clear()
    with session() as s:
        rec = live.start(s, area_codes=["29377"], actor="admin", now=T0)
    with session() as s:
        assert live.expire_due(s, T0 + timedelta(minutes=9, seconds=59)) == []
        assert live.expire_due(s, T0 + timedelta(minutes=10)) == [rec.id]
        assert live.expire_due(s, T0 + timedelta(minutes=11)) == []
    assert [(e["actor"], e["reason"], e["seconds"]) for e in _audit("live.stop")] == [("system", "max_length", 600.0)]
    with session() as s:  # a session past its length never blocks a new one, even before a sweep
        later = live.start(s, area_codes=["29377"], actor="admin", now=T0 + timedelta(minutes=30))
        assert later.id != rec.id


def test_bad_input_is_refused_and_nothing_is_stored(accounts: Path) -> None:
    from domain.errors import NotFound
    from services import live
    from services.runtime import session

    with session() as s, pytest.raises(InvalidInput, match="no target area"):
        live.start(s, area_codes=[" "], actor="admin")
    with session() as s, pytest.raises(NotFound):
        live.start(s, area_codes=["99999"], actor="admin")
    with session() as s, pytest.raises(InvalidInput, match="unknown reason"):
        live.stop(s, 1, actor="admin", reason="tired")
    assert _live_ids() == [] and _audit("live.start") == []


def _relay_now() -> None:
    from domain.programs import VN_TZ
    from services import relays
    from services.runtime import session

    _source()
    now = datetime.now(UTC).astimezone(VN_TZ)
    while now.hour == 23 and now.minute == 59:  # a slot must end on its day and be on the air now
        time.sleep(2)
        now = datetime.now(UTC).astimezone(VN_TZ)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(midnight, now - timedelta(minutes=5)).strftime("%H:%M")
    ends = min(midnight + timedelta(hours=23, minutes=59), now + timedelta(minutes=10)).strftime("%H:%M")
    with session() as s:
        relays.add_slot(s, source="VOV1", area_code="29377", starts=start, ends=ends, actor="admin")


def test_a_relay_on_air_refuses_an_ordinary_session_and_an_emergency_one_preempts_it(accounts: Path) -> None:
    from domain.devices import DeviceKind, DeviceStatus, Registration
    from domain.signatures import generate_key
    from services import device_schedule, devices, live, streaming
    from services.runtime import session

    _relay_now()
    with session() as s, pytest.raises(InvalidInput) as refused:
        live.start(s, area_codes=["29377"], actor="approver_daloc")
    assert error_text("vi", refused.value) == (
        "Địa bàn 29377 đang tiếp sóng VOV1; chỉ buổi phát khẩn cấp mới được ngắt tiếp sóng.")
    with session() as s:
        rec = live.start(s, area_codes=["29377"], actor="approver_daloc", emergency=True, title="Lũ quét")
        key = generate_key()
        dev, _ = devices.register(s, Registration("hw-1", key.public, "loa 1", "29377", DeviceKind.SPEAKER))
        devices.authorise(s, dev.id, username="admin")
        auth = devices.DeviceAuth(dev.id, key.public, DeviceStatus.AUTHORISED, "29377", DeviceKind.SPEAKER)
    device_schedule.invalidate()
    with session() as s:
        _, raw = device_schedule.signed_schedule(s, auth, 2, "http://bantin.test")
    streams = [i for i in json.loads(raw)["items"] if i["kind"] == "stream"]
    assert [i["item_id"][:5] for i in streams] == ["live-", "relay"]  # devices play the first stream on air
    assert streams[0]["item_id"] == f"live-{rec.id}" and streams[0]["title"] == "Lũ quét"
    assert [i["priority"] for i in streams] == ["khan_cap", "uu_tien"]  # an emergency session overrides all
    from zoneinfo import ZoneInfo

    from device_agent.planner import Planner, PlanState

    all_day = [{"from": "00:00", "to": "12:00"}, {"from": "12:00", "to": "00:00"}]
    doc = {**json.loads(raw), "quiet_hours": all_day}  # quiet hours all day long
    choice, _ = Planner(medium="audio", tz=ZoneInfo("Asia/Ho_Chi_Minh"), slots=[]).choose(
        doc, PlanState(), time.time())
    assert choice is not None and (choice.trigger, choice.item["item_id"]) == ("emergency", f"live-{rec.id}")
    assert streams[0]["stream"]["url"].startswith(f"{streaming.public_url()}/area-live-{rec.id}.mp3?t={dev.id}.")
    with session() as s:
        live.stop(s, rec.id, actor="approver_daloc")
        _, raw = device_schedule.signed_schedule(s, auth, 2, "http://bantin.test")  # the stop is seen at once
    assert [i["item_id"][:5] for i in json.loads(raw)["items"] if i["kind"] == "stream"] == ["relay"]


def speakers_hearing(s: Any, rec: Any, began: datetime, plays: list[tuple[int, int, bool]], *, tag: str = "hw",
                     trigger: str = "emergency") -> list[int]:
    """Two authorised speakers in Đa Lộc (29377); the first uploads a play log of session ``rec`` for each
    ``(start s, end s, completed)`` after ``began``. Returns the two device ids."""
    import uuid

    from domain.devices import DeviceKind, DeviceStatus, Registration
    from domain.signatures import generate_key
    from services import devices, live

    ids = []
    for n in (1, 2):
        dev, _ = devices.register(s, Registration(f"{tag}-{n}", generate_key().public, f"loa {n}", "29377",
                                                  DeviceKind.SPEAKER))
        devices.authorise(s, dev.id, username="admin")
        ids.append(dev.id)
    device = devices.DeviceAuth(ids[0], b"", DeviceStatus.AUTHORISED, "29377", DeviceKind.SPEAKER)
    entries = [{"log_id": str(uuid.uuid4()), "item_id": f"live-{rec.id}", "manifest_hash": live.session_hash(rec),
                "started_at": (began + timedelta(seconds=start)).isoformat(),
                "ended_at": (began + timedelta(seconds=end)).isoformat(), "completed": completed,
                "trigger": trigger} for start, end, completed in plays]
    assert devices.upload_play_logs(s, device, {"entries": entries}) == (len(plays), 0)
    return ids


def test_live_plays_are_in_the_session_proof_of_play_and_the_period_report(accounts: Path) -> None:
    from services import live, reports
    from services.runtime import session

    began = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    with session() as s:
        rec = live.start(s, area_codes=["29377"], actor="approver_daloc", title="Họp dân", emergency=True, now=began)
        other = live.start(s, area_codes=["29380"], actor="approver_mychanh", now=began)  # outside Đa Lộc
        live.stop(s, rec.id, actor="approver_daloc", now=began + timedelta(minutes=12))
        live.stop(s, other.id, actor="approver_mychanh", now=began + timedelta(minutes=12))
        # the box lost the stream after 2 minutes, came back, and heard the session to its end
        ids = speakers_hearing(s, rec, began, [(0, 120, False), (180, 720, True)])
    with session() as s:
        proof = live.proof_of_play(s, live.get(s, rec.id))
        assert (proof.devices, proof.devices_played, proof.plays, proof.completed, proof.minutes) == (2, 1, 2, 1, 11.0)
        assert proof.first_play is not None and proof.first_play == began
        assert live.proof_of_play(s, live.get(s, other.id)).devices_played == 0
        both = live.proofs_of_play(s, [live.get(s, rec.id), live.get(s, other.id)])  # a list's, at once
        assert {i: (p.devices, p.devices_played, p.plays, p.completed, p.minutes) for i, p in both.items()} == {
            rec.id: (2, 1, 2, 1, 11.0), other.id: (0, 0, 0, 0, 0.0)}
        from services import dashboard

        _, plays = dashboard.device_detail(s, ids[0], now=datetime.now(UTC))
        assert [(p.title, p.completed, p.trigger) for p in plays] == [("Họp dân", True, "emergency"),
                                                                      ("Họp dân", False, "emergency")]
        day = (began + timedelta(hours=7)).date().isoformat()  # Vietnam's days
        today = (datetime.now(UTC) + timedelta(hours=7)).date()
        data = reports.compute(s, reports.resolve_period(f"{day}..{today}", today=today), "29377",
                               now=datetime.now(UTC))
    assert {k: v for k, v in data.headline.items() if k.startswith("live_")} == {
        "live_sessions": 1, "live_emergency": 1, "live_sessions_aired": 1, "live_device_plays": 1,
        "live_minutes": 11.0}


def test_recent_sessions_filter_by_the_users_areas_before_the_limit(accounts: Path) -> None:
    from services import live
    from services.runtime import session
    from storage.repositories import users

    with session() as s:
        mine = live.start(s, area_codes=["29377"], actor="approver_daloc", now=T0)
        live.stop(s, mine.id, actor="approver_daloc", now=T0 + timedelta(minutes=1))
        for n in range(25):  # newer sessions elsewhere push it past any limit taken before the filter
            other = live.start(s, area_codes=["29380"], actor="approver_mychanh", now=T0 + timedelta(minutes=2 + n))
            live.stop(s, other.id, actor="approver_mychanh", now=T0 + timedelta(minutes=2 + n, seconds=30))
    with session() as s:
        assert [r.id for r in live.recent_sessions(s, users.get_user(s, "approver_daloc"), 20)] == [mine.id]
        assert len(live.recent_sessions(s, users.get_user(s, "approver_mychanh"), 20)) == 20
        district = [r.id for r in live.recent_sessions(s, users.get_user(s, "approver_chauthanh"), 3)]
        assert district == [mine.id + 25, mine.id + 24, mine.id + 23]
        assert len(live.recent_sessions(s, users.get_user(s, "admin"), 30)) == 26
