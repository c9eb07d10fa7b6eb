"""Relay sources and slots through the service: who may add them, the checks (a real upstream probed with
ffprobe), the audit log, Vietnamese refusals with nothing stored, and the stream items devices get."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.errors import Forbidden, InvalidInput
from web.officer_text import error_text


def _audit(action: str) -> list[dict[str, object]]:
    from sqlalchemy import select

    from services.runtime import session
    from storage.models import AuditRecord

    with session() as s:
        return [{"actor": r.actor, "entity_id": r.entity_id, **r.detail}
                for r in s.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq))]


def _sources() -> list[str]:
    from services.runtime import session
    from storage.repositories import relays as repo

    with session() as s:
        return [r.name for r in repo.list_sources(s)]


def test_an_admin_registers_a_real_upstream_and_it_is_audited(accounts: Path, upstream: object) -> None:
    from services import relays
    from services.runtime import session

    url = upstream("/vov1.mp3")  # type: ignore[operator]
    with session() as s:
        rec = relays.add_source(s, name="VOV1 thời sự", url=url, actor="admin")
        assert (rec.name, rec.codec) == ("VOV1 thời sự", "mp3")
    assert _audit("relay.source.add") == [{"actor": "admin", "entity_id": str(rec.id), "name": "VOV1 thời sự",
                                           "url": url, "codec": "mp3", "sample_rate": 44100, "channels": 1}]
    with session() as s, pytest.raises(Forbidden) as refused:
        relays.add_source(s, name="VOV2", url=url, actor="approver_daloc")
    assert error_text("vi", refused.value) == "Chỉ quản trị viên mới được thêm nguồn tiếp sóng."
    assert _sources() == ["VOV1 thời sự"]


@pytest.mark.parametrize(("kind", "vietnamese"), [
    ("unreachable", "Không kết nối được tới nguồn tiếp sóng. Kiểm tra lại địa chỉ luồng."),
    ("not audio", "Địa chỉ này không phải luồng âm thanh (MP3, AAC hoặc HLS)."),
    ("bad url", "Địa chỉ nguồn phải bắt đầu bằng http:// hoặc https://."),
])
def test_a_bad_upstream_is_refused_in_vietnamese_and_nothing_is_stored(accounts: Path, web_url: str, kind: str,
                                                                      vietnamese: str) -> None:
    from services import relays
    from services.runtime import session

    url = {"unreachable": "http://127.0.0.1:9/vov1.mp3", "not audio": f"{web_url}/login",
           "bad url": "rtmp://vov.vn/live"}[kind]
    with session() as s, pytest.raises(InvalidInput) as refused:
        relays.add_source(s, name="VOV1", url=url, actor="admin")
    assert error_text("vi", refused.value) == vietnamese
    assert _sources() == []
    assert _audit("relay.source.add") == []


def _source(name: str = "VOV1") -> int:
    from services.runtime import session
    from storage.repositories import relays as repo

    with session() as s:
        return repo.add_source(s, name=name, url="http://vov.example/vov1.mp3", codec="mp3", actor="admin").id


def test_slots_need_authority_over_the_area_and_may_not_overlap(accounts: Path) -> None:
    from services import relays
    from services.runtime import session

    _source()
    with session() as s:
        slot = relays.add_slot(s, source="VOV1", area_code="29377", starts="6:00", ends="06:30", days="t2-t6",
                               actor="approver_daloc")
        assert (slot.starts, slot.ends, slot.weekdays, slot.priority) == ("06:00", "06:30", "01234", "uu_tien")
    with session() as s, pytest.raises(Forbidden):
        relays.add_slot(s, source="VOV1", area_code="29377", starts="07:00", ends="07:30", actor="approver_mychanh")
    with session() as s, pytest.raises(Forbidden):
        relays.add_slot(s, source="VOV1", area_code="29377", starts="07:00", ends="07:30", actor="editor_daloc")
    with session() as s, pytest.raises(InvalidInput) as refused:
        relays.add_slot(s, source="VOV1", area_code="29377", starts="06:15", ends="06:45", days="mon",
                        actor="approver_chauthanh")
    assert error_text("vi", refused.value) == \
        "Khung giờ 06:15-06:45 trùng với một khung giờ tiếp sóng khác của địa bàn này."
    with session() as s, pytest.raises(InvalidInput) as refused:
        relays.add_slot(s, source="VOV1", area_code="29377", starts="07:00", ends="06:00", actor="admin")
    assert error_text("vi", refused.value) == "Giờ kết thúc phải sau giờ bắt đầu, trong cùng một ngày."
    with session() as s:  # a district approver may relay in a commune of the district, on other days
        relays.add_slot(s, source="VOV1", area_code="29377", starts="06:15", ends="06:45", days="t7,cn",
                        actor="approver_chauthanh")
        relays.set_slot_active(s, slot.id, False, actor="approver_daloc")
    assert [(a["actor"], a["starts"], a["weekdays"]) for a in _audit("relay.slot.add")] == [
        ("approver_daloc", "06:00", "01234"), ("approver_chauthanh", "06:15", "56")]
    assert [a["actor"] for a in _audit("relay.slot.disable")] == ["approver_daloc"]
    with session() as s:  # switched on again it would overlap nothing (the weekend slot is on other days)
        relays.set_slot_active(s, slot.id, True, actor="admin")
        assert [(r.starts, r.active) for r in relays.repo.list_slots(s)] == [("06:00", True), ("06:15", True)]


def test_devices_below_the_area_get_a_stream_item_with_their_own_listen_url(accounts: Path) -> None:
    from domain.devices import DeviceKind, DeviceStatus, Registration
    from domain.programs import VN_TZ
    from domain.signatures import generate_key, verify_document
    from domain.streams import verify_listener
    from services import device_schedule, devices, relays, signing, streaming
    from services.runtime import session

    _source()
    now = datetime.now(UTC)
    start = (now + timedelta(minutes=30)).astimezone(VN_TZ).replace(second=0, microsecond=0)
    if start.hour >= 23:  # the slot must end on its day, inside the schedule's window (from the hour, 2 hours)
        start = start.replace(hour=23, minute=0)
    ends = start + timedelta(minutes=30)
    with session() as s:
        relays.add_slot(s, source="VOV1", area_code="847", starts=start.strftime("%H:%M"),
                        ends=ends.strftime("%H:%M"), actor="approver_chauthanh")  # the district's mount
        auths = []
        for n, kind in enumerate((DeviceKind.SPEAKER, DeviceKind.BOARD)):
            key = generate_key()
            rec, _ = devices.register(s, Registration(f"hw-{n}", key.public, f"loa {n}", "29377", kind))
            devices.authorise(s, rec.id, username="admin")
            auths.append(devices.DeviceAuth(rec.id, key.public, DeviceStatus.AUTHORISED, "29377", kind))
    device_schedule.invalidate()
    with session() as s:
        _, raw = device_schedule.signed_schedule(s, auths[0], 2, "http://bantin.test")
        _, board_raw = device_schedule.signed_schedule(s, auths[1], 2, "http://bantin.test")
    doc = json.loads(raw)
    verify_document(doc, signing.trusted_keys())
    (item,) = [i for i in doc["items"] if i["kind"] == "stream"]
    assert item["title"] == "VOV1" and item["priority"] == "uu_tien"
    assert item["starts_at"] == start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert item["expires_at"] == ends.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert item["stream"]["mount"] == "/area-847.mp3"
    url = item["stream"]["url"]
    assert url.startswith(streaming.public_url() + "/area-847.mp3?t=")
    listener = verify_listener(streaming.stream_secrets().listen_secret, url[len(streaming.public_url()):],
                               now=ends.timestamp())
    assert listener.device_id == auths[0].id
    assert listener.expires == int(ends.timestamp()) + 600
    assert [i for i in json.loads(board_raw)["items"] if i["kind"] == "stream"] == []  # boards have no sound


def test_relay_and_live_plays_are_named_on_the_device_page(accounts: Path) -> None:
    from services import dashboard, live
    from services.runtime import session
    from storage.repositories import relays as repo

    source_id = _source("VOV1 thời sự")
    with session() as s:
        slot = repo.add_slot(s, actor="admin", source_id=source_id, area_code="29377", starts="06:00", ends="06:30",
                             weekdays="01234", priority="uu_tien")
        rec = live.start(s, area_codes=["29377"], actor="approver_daloc", title="Họp dân")
        names = dashboard.stream_titles(s, [f"relay-{slot.id}-2026-12-07", f"live-{rec.id}", "live-999",
                                            "relay-999-2026-12-07", "abc.vi"])
    assert names == {f"relay-{slot.id}-2026-12-07": "VOV1 thời sự", f"live-{rec.id}": "Họp dân"}
