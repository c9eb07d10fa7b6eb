"""The dashboard service against the simulated province: device states, drill-down, emergencies in force with
acknowledgements, today's programme scheduled vs played, queues and storage."""

from datetime import UTC, datetime, timedelta

from domain.packages import PackageStatus
from services import dashboard
from services.rollups import Thresholds
from services.runtime import session
from storage.models_programs import ProgramEditionRecord, ProgramRecord
from storage.repositories import devices as device_repo
from storage.repositories import reports as repo
from tests.devices.factory import published_package

TH = Thresholds(online_s=300, offline_s=3600)


def _edition(area: str, name: str, manifest: str, starts: datetime) -> None:
    with session() as s:
        prog = ProgramRecord(area_code=area, name=name, at="06:00", weekdays="0123456", max_s=900, gap_s=2,
                             priority="thuong", languages=["vi"], created_by="test")
        s.add(prog)
        s.flush()
        s.add(ProgramEditionRecord(program_id=prog.id, slot_date=repo.vn_day(starts), area_code=area, language="vi",
                                   starts_at=starts, status="published", manifest_hash=manifest))


def test_dashboard_counts_and_drill_down(province) -> None:
    now = datetime.now(UTC)
    emergency, em_hash = published_package(title="Cảnh báo sạt lở", areas=("070",), languages="vi",
                                           priority="khan_cap", expires_at=now + timedelta(hours=2))
    province.play("a1", em_hash, now, trigger="emergency")
    province.play("b1", em_hash, now, trigger="emergency")
    for name in ("a1", "a2"):
        r = province.devices[name].request("POST", "/device/v1/ack", {
            "manifest_hash": em_hash, "item_id": f"{em_hash[:16]}.vi", "received_at": now.isoformat(),
            "channel": "poll"})
        assert r.status_code == 204
    published_package(title="Chờ duyệt", areas=("02200",), languages="vi", status=PackageStatus.IN_REVIEW)
    published_package(title="Chờ duyệt huyện khác", areas=("071",), languages="vi", status=PackageStatus.IN_REVIEW)
    prog_pkg, prog_hash = published_package(title="Chương trình sáng", areas=("02200",), languages="vi")
    _edition("02200", "Bản tin sáng", prog_hash, now - timedelta(minutes=10))
    province.play("a2", prog_hash, now - timedelta(minutes=9))
    assert province.inventory("c2", files=[], free_bytes=50 * 1024 * 1024,
                              health={"uptime_s": 3600, "temperature_c": 48.5, "network": "cellular"}
                              ).status_code == 204
    with session() as s:  # c1 last heard from 20 minutes ago: stale; b2 never: offline
        device_repo.touch_many(s, {province.id("c1"): now - timedelta(minutes=20)})

    with session() as s:
        board = dashboard.build(s, "070", now=now, thresholds=TH)
    assert board.counts == {"online": 4, "stale": 1, "offline": 1}
    assert [(c.code, c.devices, c.online, c.stale, c.offline) for c in board.children] == [
        ("02203", 2, 1, 0, 1), ("02200", 2, 2, 0, 0), ("02206", 2, 1, 1, 0)]
    assert [(e.title, e.devices, e.acked, e.played) for e in board.emergencies] == [("Cảnh báo sạt lở", 6, 2, 2)]
    assert [(p.area_code, p.program, p.devices, p.devices_played) for p in board.programme] == [
        ("02200", "Bản tin sáng", 2, 1)]
    assert board.queues["to_approve"] == 1
    assert board.queues["failed_deliveries"] == 0
    assert board.queues["overdue_feedback"] == 0  # no citizen feedback in the simulated province
    assert [(d.id, d.free_bytes, d.temperature_c) for d in board.low_storage] == [
        (province.id("c2"), 50 * 1024 * 1024, 48.5)]

    with session() as s:
        province_board = dashboard.build(s, "08", now=now, thresholds=TH)
        commune_board = dashboard.build(s, "02203", now=now, thresholds=TH)
    assert province_board.counts == {"online": 4, "stale": 1, "offline": 2}  # d1 has not reported today
    assert [(c.code, c.devices, c.offline) for c in province_board.children] == [("070", 6, 1), ("071", 1, 1)]
    assert province_board.queues["to_approve"] == 2
    assert commune_board.children == ()
    assert sorted(d.id for d in commune_board.devices) == sorted([province.id("b1"), province.id("b2")])


def test_device_detail_lists_plays_with_titles(province) -> None:
    pid, manifest = published_package(title="Thông báo nộp thuế", areas=("02200",), languages="vi")
    t = datetime.now(UTC) - timedelta(minutes=3)
    province.play("a1", manifest, t, completed=False)
    # A manifest the device was never sent is refused by the device API (services.devices), so never listed.
    with session() as s:
        info, plays = dashboard.device_detail(s, province.id("a1"), now=datetime.now(UTC), thresholds=TH)
    assert info["state"] == "online"
    assert [(p.title, p.completed, p.package_id) for p in plays] == [("Thông báo nộp thuế", False, pid)]


def test_queues_count_translations_and_dead_deliveries_of_the_area(province) -> None:
    """Packages in review with a Khmer variant waiting for its translation, and deliveries given up on (dead), in
    district 070 and in 071: the district's dashboard counts its own, the province's both."""
    from domain.deliveries import DeliveryStatus, DestinationKind
    from domain.packages import VariantStatus
    from storage.repositories import destinations, outbox, packages

    with session() as s:
        dest = destinations.add_destination(s, name="htttn-tinh", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/")
    for area in ("02200", "071"):
        waiting, _ = published_package(title=f"Chờ dịch {area}", areas=(area,), languages="vi,km",
                                       status=PackageStatus.IN_REVIEW)
        sent, manifest = published_package(title=f"Gửi lỗi {area}", areas=(area,), languages="vi")
        with session() as s:
            packages.set_variant(s, package_id=waiting, language="km", status=VariantStatus.BLOCKED,
                                 blocked_reason="chờ bản dịch")
            d = outbox.ensure(s, package_id=sent, manifest_hash=manifest, destination_id=dest.id)
            outbox.set_status(s, d, DeliveryStatus.SENDING)
            outbox.set_status(s, d, DeliveryStatus.DEAD, error="ConnectError: refused")
    now = datetime.now(UTC)
    with session() as s:
        district = dashboard.build(s, "070", now=now, thresholds=TH).queues
        whole = dashboard.build(s, "08", now=now, thresholds=TH).queues
    assert district == {"to_approve": 1, "to_translate": 1, "failed_deliveries": 1, "overdue_feedback": 0}
    assert whole == {"to_approve": 2, "to_translate": 2, "failed_deliveries": 2, "overdue_feedback": 0}
