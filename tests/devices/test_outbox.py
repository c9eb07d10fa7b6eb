"""One outbox for deliveries and withdrawal/kill notices: the same claim, retry, sweep and resend rules apply to
both (a retraction used to skip the claim and the sweeper), and the resend service decides who may resend what."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.deliveries import DeliveryStatus, DestinationKind, OutboxAction
from domain.errors import Forbidden, InvalidInput
from domain.packages import PackageStatus
from domain.users import parse_membership
from services import outbox as outbox_service
from services import runtime
from services.runtime import session
from storage.repositories import audit, destinations, outbox, packages, users
from tests.devices.factory import published_package
from tests.flows.receivers import scripted

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def quick(home: Path, prefect_harness: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANTIN_DELIVERY_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("BANTIN_DELIVERY_BACKOFF_SECONDS", "0.01")
    runtime.reset()


def _killed_with_delivery(url: str) -> tuple[int, int, int]:
    """A killed package delivered to one destination; returns (package, destination, retraction row)."""
    package_id, manifest = published_package(languages="vi")
    with session() as s:
        dest = destinations.add_destination(s, name="htttn-tinh", kind=DestinationKind.HTTTN, url=url)
        d = outbox.ensure(s, package_id=package_id, destination_id=dest.id, manifest_hash=manifest)
        outbox.set_status(s, d, DeliveryStatus.SENDING)
        outbox.set_status(s, d, DeliveryStatus.DELIVERED, receipt_id="r-0")
        packages.set_status(s, packages.get_package(s, package_id), PackageStatus.KILLED, actor="test",
                            reason="sai sự thật")
        r = outbox.ensure(s, package_id=package_id, destination_id=dest.id, manifest_hash=manifest,
                          action=OutboxAction.KILL)
        return package_id, dest.id, r.id


def test_a_notice_is_claimed_swept_and_sent_like_a_delivery(quick: None) -> None:
    from tasks import outbox as sender
    from tasks.retractions import packages_to_retract
    from tasks.sweeping import stalled_deliveries

    with scripted([201]) as rx:
        package_id, dest_id, rid = _killed_with_delivery(rx.url)
        with session() as s:
            r = outbox.get(s, rid)
            assert (r.kind, r.action, r.idempotency_key.endswith("-kill")) == ("retraction", "kill", True)
            assert outbox.claim(s, r, now=T0, stale_before=T0 - timedelta(seconds=120))  # a runner that then dies
        assert sender.attempt(rid, now=T0 + timedelta(seconds=60)) is DeliveryStatus.SENDING  # not stolen
        assert rx.keys == []
        # The sweeper frees it once stale, and does not publish the killed package again.
        assert stalled_deliveries.fn(T0 + timedelta(seconds=121)) == []
        with session() as s:
            assert (outbox.get(s, rid).status, outbox.get(s, rid).attempts) == ("failed", 1)
        assert package_id in packages_to_retract.fn()
        assert sender.attempt(rid) is DeliveryStatus.DELIVERED
        assert len(rx.keys) == 1 and rx.keys[0].endswith("-kill")
        assert rx.bodies[0]["schema"] == "bantin.retraction/1" and rx.bodies[0]["action"] == "kill"
        assert rx.bodies[0]["reason"] == "sai sự thật"
        assert package_id not in packages_to_retract.fn()
    with session() as s:
        r = outbox.get(s, rid)
        assert (r.status, r.attempts, r.receipt_id) == ("delivered", 2, "r0")
        outcomes = [e.action for e in audit.entries(s, entity="retraction", entity_id=rid)]
        assert outcomes == ["retraction.delivered"]


def test_dead_notices_back_off_and_die_by_the_same_budget(quick: None) -> None:
    from tasks import outbox as sender

    with scripted([503]) as rx:
        _, _, rid = _killed_with_delivery(rx.url)
        waits: list[float] = []
        assert sender.send_until_done(rid, sleep=waits.append) is DeliveryStatus.DEAD
        assert len(rx.keys) == 2 and len(waits) == 1 and 0.005 <= waits[0] <= 0.015  # one backoff, jittered
    with session() as s:
        assert (outbox.get(s, rid).status, outbox.get(s, rid).attempts) == ("dead", 2)


def _dead(s, rec) -> None:  # type: ignore[no-untyped-def]
    outbox.set_status(s, rec, DeliveryStatus.SENDING)
    outbox.set_status(s, rec, DeliveryStatus.DEAD, error="HTTP 503")


def test_resend_is_decided_by_the_service(quick: None) -> None:
    with scripted([503]) as rx:
        package_id, dest_id, rid = _killed_with_delivery(rx.url)
    other, manifest = published_package(languages="vi", areas=("29380",))  # Mỹ Chánh
    with session() as s:
        users.add_user(s, username="qt-xa", full_name="Quản trị xã", memberships=[parse_membership("admin:29377")])
        _dead(s, outbox.get(s, rid))
        theirs = outbox.ensure(s, package_id=other, destination_id=dest_id, manifest_hash=manifest)
        _dead(s, theirs)
        second = destinations.add_destination(s, name="cong-tinh", kind=DestinationKind.HTTP,
                                              url="http://127.0.0.1:9/in")
        never_sent = outbox.ensure(s, package_id=package_id, destination_id=second.id, manifest_hash=manifest)
        _dead(s, never_sent)
        theirs_id, never_sent_id = theirs.id, never_sent.id
    with session() as s:  # a commune admin sees and resends only their commune's rows
        assert [(q.id, q.kind) for q in outbox_service.queue(s, username="qt-xa", dead_only=True)] == \
            [(never_sent_id, "delivery"), (rid, "retraction")]
        assert {q.id for q in outbox_service.queue(s, username="admin", dead_only=True)} == \
            {rid, theirs_id, never_sent_id}
        with pytest.raises(Forbidden):
            outbox_service.resend(s, username="qt-xa", outbox_id=theirs_id)
        with pytest.raises(Forbidden):
            outbox_service.queue(s, username="demo-editor")
    with session() as s:  # a killed package's delivery is never sent again; its notice is
        with pytest.raises(InvalidInput, match="withdrawn or killed"):
            outbox_service.resend(s, username="qt-xa", outbox_id=never_sent_id)
        assert outbox_service.resend(s, username="qt-xa", outbox_id=rid) == (package_id, "retract")
        assert outbox.get(s, rid).status == "pending"
        assert outbox.get(s, never_sent_id).status == "dead"
    with session() as s:
        assert outbox_service.resend_package(s, username="admin", package_id=other) == (1, "publish")
        assert outbox_service.dead_count(s, users.get_user(s, "qt-xa")) == 1  # the killed package's delivery
        resends = [e for e in audit.entries(s, entity="retraction", entity_id=rid) if e.action == "retraction.resend"]
        assert [(e.actor, e.detail["previous_attempts"]) for e in resends] == [("qt-xa", 1)]


def test_area_scoped_destinations_take_only_their_areas_bulletins(quick: None) -> None:
    from domain.areas import Area, AreaLevel
    from domain.deliveries import destination_takes
    from flows.publish import publish_package

    tree = {"84": Area("84", "Tỉnh Trà Vinh", AreaLevel.PROVINCE, None),
            "847": Area("847", "Huyện Châu Thành", AreaLevel.DISTRICT, "84"),
            "29377": Area("29377", "Xã Đa Lộc", AreaLevel.COMMUNE, "847"),
            "64": Area("64", "Tỉnh Gia Lai", AreaLevel.PROVINCE, None)}
    assert destination_takes(None, ["64"], tree)
    assert destination_takes("84", ["29377"], tree) and destination_takes("29377", ["84"], tree)  # below, above
    assert not destination_takes("64", ["29377"], tree) and not destination_takes("99", ["29377"], tree)

    package_id, _ = published_package(status=PackageStatus.APPROVED, languages="vi")  # for 29377
    with scripted([201]) as tra_vinh, scripted([201]) as gia_lai, scripted([201]) as everywhere:
        with session() as s:
            destinations.add_destination(s, name="htttn-tra-vinh", kind=DestinationKind.HTTTN, url=tra_vinh.url,
                                         area_code="84")
            destinations.add_destination(s, name="htttn-gia-lai", kind=DestinationKind.HTTTN, url=gia_lai.url,
                                         area_code="64")
            destinations.add_destination(s, name="htttn-tw", kind=DestinationKind.HTTTN, url=everywhere.url)
        assert publish_package(package_id) == "published"
        assert (len(tra_vinh.keys), len(gia_lai.keys), len(everywhere.keys)) == (1, 0, 1)
    with session() as s:
        assert sorted(t.name for _, t in outbox.of_package(s, package_id)) == ["htttn-tra-vinh", "htttn-tw"]


def test_the_retraction_decision_is_the_services_and_notices_go_only_where_it_was_delivered(home: Path) -> None:
    package_id, manifest = published_package(languages="vi")
    with session() as s:
        got = destinations.add_destination(s, name="co-nhan", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/a")
        never = destinations.add_destination(s, name="chua-nhan", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/b")
        d = outbox.ensure(s, package_id=package_id, destination_id=got.id, manifest_hash=manifest)
        outbox.set_status(s, d, DeliveryStatus.SENDING)
        outbox.set_status(s, d, DeliveryStatus.DELIVERED, receipt_id="r-0")
        outbox.ensure(s, package_id=package_id, destination_id=never.id, manifest_hash=manifest)  # still pending
        assert outbox_service.retraction_owed(s, package_id) is False
        assert outbox_service.prepare_retractions(s, package_id) == []
        packages.set_status(s, packages.get_package(s, package_id), PackageStatus.WITHDRAWN, actor="test",
                            reason="hết hiệu lực")
        assert outbox_service.retraction_owed(s, package_id) is True
        [notice] = outbox_service.prepare_retractions(s, package_id)
        assert outbox_service.prepare_retractions(s, package_id) == [notice]  # once per destination
        r = outbox.get(s, notice)
        assert (r.kind, r.action, r.destination_id, r.status) == ("retraction", "withdraw", got.id, "pending")
    killed, _dest, _r = _killed_with_delivery("http://127.0.0.1:9/c")
    with session() as s:
        assert outbox_service.retraction_owed(s, killed) is True
        assert [outbox.get(s, i).action for i in outbox_service.prepare_retractions(s, killed)] == ["kill"]
