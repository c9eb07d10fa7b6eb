"""Emergencies do not wait, deliveries happen once, and crashed work recovers without a person.

Real Mosquitto (127.0.0.1:1883, or one started for the module) and real HTTP receivers on loopback; the
broker outage is a closed port. Ages are judged by an injected clock, never by sleeping.
"""

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.deliveries import DeliveryStatus, DestinationKind
from domain.packages import PackageStatus
from services import devices as device_service
from services import runtime
from services.packages import package_view
from services.runtime import object_store, session
from storage.repositories import destinations, outbox, packages
from tests.devices.factory import DeviceClient, published_package
from tests.devices.test_emergency_mqtt import Subscriber, broker_port  # noqa: F401 (fixture)
from tests.flows.receivers import fleet, scripted

pytestmark = [pytest.mark.flow, pytest.mark.integration]
AREA = "23917"  # a commune no other test's devices use


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _authorised_device(client: Any, area: str) -> None:
    dev = DeviceClient.new(client)
    assert dev.register(area, "speaker").status_code == 202
    with session() as s:
        device_service.authorise(s, dev.device_id or 0, username="admin")


@pytest.fixture
def env(home: Path, prefect_harness: None, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("BANTIN_PUBLIC_BASE_URL", "http://bantin.test")
    monkeypatch.setenv("BANTIN_DELIVERY_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("BANTIN_DELIVERY_BACKOFF_SECONDS", "0.02")
    monkeypatch.setenv("BANTIN_HTTP_TIMEOUT", "5")
    monkeypatch.setenv("BANTIN_MQTT_TIMEOUT_S", "2")
    runtime.reset()
    return monkeypatch


def _channels(package_id: int) -> dict[str, tuple[str, int]]:
    with session() as s:
        view = package_view(s, object_store(), package_id)
    return {c["name"]: (c["status"], c["attempts"]) for c in view["channels"]}


def test_broker_down_emergency_still_delivered_over_http_then_pushed_when_broker_returns(
        env: pytest.MonkeyPatch, client: Any, broker_port: int) -> None:  # noqa: F811
    from flows.publish import publish_package
    from flows.sweep import sweep

    env.setenv("BANTIN_MQTT_HOST", "127.0.0.1")
    env.setenv("BANTIN_MQTT_PORT", str(_closed_port()))  # the broker is down
    runtime.reset()
    package_id, manifest = published_package(title="Sạt lở đất khẩn cấp", areas=(AREA,), languages="vi",
                                             priority="khan_cap", status=PackageStatus.APPROVED)
    _authorised_device(client, AREA)
    with scripted([201]) as receiver:
        with session() as s:
            destinations.add_destination(s, name="so-tttt", kind=DestinationKind.HTTTN, url=receiver.url)
        started = time.monotonic()
        assert publish_package(package_id) == "published"
        took = time.monotonic() - started
        assert len(receiver.keys) == 1  # the HTTP delivery was made despite the broker outage
    assert took < 15
    assert _channels(package_id) == {"so-tttt": ("delivered", 1), "MQTT play": ("failed", 1)}
    with session() as s:
        assert "unreachable" in package_view(s, object_store(), package_id)["channels"][1]["detail"]

    # The broker is back: the sweeper pushes the failed message by itself, once its backoff has passed.
    env.setenv("BANTIN_MQTT_PORT", str(broker_port))
    runtime.reset()
    topic = f"bantin/v1/area/{AREA}/emergency"
    live = Subscriber(broker_port, topic)
    try:
        now = datetime.now(UTC)
        assert sweep(now=now)["pushes"] == {}  # still inside the backoff (30 s by default)
        assert sweep(now=now + timedelta(minutes=2))["pushes"] == {"sent": 1}
        (_, msg), = live.wait(1)[-1:]
        assert (msg["action"], msg["item"]["manifest_hash"]) == ("play", manifest)
        assert _channels(package_id)["MQTT play"] == ("sent", 2)
        assert sweep(now=now + timedelta(minutes=4))["pushes"] == {}  # nothing owed any more
    finally:
        live.close()
        import paho.mqtt.publish as publish

        publish.single(topic, b"", qos=1, retain=True, hostname="127.0.0.1", port=broker_port)


def test_two_concurrent_publishes_deliver_each_destination_once(env: pytest.MonkeyPatch) -> None:
    from flows.publish import publish_package

    package_id, _ = published_package(status=PackageStatus.APPROVED, languages="vi")
    with fleet([[("slow", 0.4)]] * 4) as f:
        with session() as s:
            for n in range(4):
                destinations.add_destination(s, name=f"rx-{n}", kind=DestinationKind.HTTTN, url=f.url(n))
        results: list[Any] = []
        gate = threading.Barrier(2)

        def run() -> None:
            gate.wait()
            try:
                results.append(publish_package(package_id))
            except Exception as exc:  # noqa: BLE001 (recorded for the assertion)
                results.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results == ["published", "published"]
        assert [len(k) for k in f.keys] == [1, 1, 1, 1]  # each receiver got the package exactly once
    with session() as s:
        assert {d.status for d, _ in outbox.of_package(s, package_id)} == {"delivered"}
        assert packages.get_package(s, package_id).status == PackageStatus.PUBLISHED


def test_sweeper_resends_a_delivery_left_sending_by_a_killed_runner(env: pytest.MonkeyPatch) -> None:
    from flows.sweep import sweep
    from tasks import outbox as sender

    package_id, _ = published_package(status=PackageStatus.APPROVED, languages="vi")
    with scripted([201]) as receiver:
        with session() as s:
            dest = destinations.add_destination(s, name="rx", kind=DestinationKind.HTTTN, url=receiver.url)
            delivery_id = outbox.ensure(s, package_id=package_id, manifest_hash="m",
                                                     destination_id=dest.id).id
        real = outbox.set_status

        def killed(s, rec, target, **kw):  # type: ignore[no-untyped-def]
            if target is DeliveryStatus.DELIVERED:
                raise SystemExit("kill -9 after the receiver accepted, before it was recorded")
            return real(s, rec, target, **kw)

        with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit):
            patch.setattr(outbox, "set_status", killed)
            sender.attempt(delivery_id)
        assert len(receiver.keys) == 1
        # A second runner right away does not touch a send another runner may still own.
        assert sender.attempt(delivery_id) is DeliveryStatus.SENDING
        assert len(receiver.keys) == 1

        now = datetime.now(UTC)
        assert sweep(now=now)["published_again"] == []  # not stale yet (claim timeout 120 s)
        assert sweep(now=now + timedelta(seconds=121))["published_again"] == [package_id]
        assert len(receiver.keys) == 2 and receiver.keys[0] == receiver.keys[1]  # re-sent with the same key
    with session() as s:
        d = outbox.get(s, delivery_id)
        assert (d.status, d.attempts) == (DeliveryStatus.DELIVERED, 2)
        assert packages.get_package(s, package_id).status == PackageStatus.PUBLISHED


def test_sweeper_fails_and_requeues_a_package_left_producing(env: pytest.MonkeyPatch) -> None:
    from domain.drafts import DraftContent
    from domain.languages import parse_languages
    from domain.priority import Priority
    from storage.repositories import drafts
    from tasks.sweeping import STALLED_PRODUCTION, stalled_productions

    with session() as s:
        rev = drafts.create_draft(s, content=DraftContent(
            title="Lịch tiêm chủng", body="Nội dung.", area_codes=("29377",), languages=parse_languages("vi"),
            priority=Priority.THUONG),
            author="demo-editor")
        pkg = packages.create_package(s, draft_id=rev.draft_id, revision_id=drafts.latest_revision_record(
            s, rev.draft_id).id, actor="test")
        package_id, draft_id = pkg.id, rev.draft_id
        assert pkg.status == PackageStatus.PRODUCING
    now = datetime.now(UTC)
    assert stalled_productions(now + timedelta(seconds=60)) == []  # a run may still be working on it
    assert stalled_productions(now + timedelta(seconds=1801)) == [draft_id]
    with session() as s:
        pkg = packages.get_package(s, package_id)
        assert (pkg.status, pkg.error) == (PackageStatus.FAILED, STALLED_PRODUCTION)
