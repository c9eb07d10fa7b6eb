"""An emergency reaches a device's MQTT subscription through a real Mosquitto: signed, retained with an
expiry (a device connecting late still gets it), then a ``stop`` when it is withdrawn. The package page
lists which devices have not confirmed."""

import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.packages import PackageStatus
from domain.signatures import unb64, verify_document
from services import devices as device_service
from services import runtime, signing
from services.runtime import session
from storage.repositories import packages
from tests.conftest import unavailable
from tests.devices.factory import DeviceClient, published_package

pytestmark = [pytest.mark.flow, pytest.mark.integration]
AREA = "23914"  # Xã Ia O (Gia Lai): a commune other tests' devices do not use


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def broker_port() -> Iterator[int]:
    """The local Mosquitto on 1883, or one started on a free port for this module."""
    if _answers(1883):
        yield 1883
        return
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if exe is None:
        unavailable("no MQTT broker on 127.0.0.1:1883 and no mosquitto executable to start one")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if _answers(port):
                break
            time.sleep(0.1)
        else:
            unavailable(f"mosquitto did not start on port {port}")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Subscriber:
    """A device-like MQTT 5 subscriber collecting decoded messages (with their retain flag)."""

    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[bool, dict[str, Any]]] = []
        self.ready = threading.Event()
        self.got = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.ready.wait(10)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        if msg.payload:
            with self.got:
                self.messages.append((bool(msg.retain), json.loads(msg.payload)))
                self.got.notify_all()

    def wait(self, n: int, timeout: float = 10) -> list[tuple[bool, dict[str, Any]]]:
        with self.got:
            self.got.wait_for(lambda: len(self.messages) >= n, timeout)
        return self.messages

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mqtt_env(home: Path, prefect_harness: None, broker_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("BANTIN_MQTT_HOST", "127.0.0.1")
    monkeypatch.setenv("BANTIN_MQTT_PORT", str(broker_port))
    monkeypatch.setenv("BANTIN_PUBLIC_BASE_URL", "http://bantin.test")
    runtime.reset()
    yield broker_port
    import paho.mqtt.publish as publish

    # Leave no retained alert behind on a shared broker.
    publish.single(f"bantin/v1/area/{AREA}/emergency", b"", qos=1, retain=True, hostname="127.0.0.1",
                   port=broker_port)


def test_emergency_is_pushed_signed_and_retained_then_stopped(mqtt_env: int, client: Any) -> None:
    from flows.publish import publish_package, retract_package

    topic = f"bantin/v1/area/{AREA}/emergency"
    package_id, manifest = published_package(title="Lũ quét khẩn cấp", areas=(AREA,), languages="vi",
                                             priority="khan_cap", status=PackageStatus.APPROVED)
    dev = DeviceClient.new(client)
    assert dev.register(AREA, "speaker").status_code == 202
    waiting = DeviceClient.new(client)
    assert waiting.register(AREA, "board").status_code == 202
    with session() as s:
        device_service.authorise(s, dev.device_id or 0, username="admin")
        device_service.authorise(s, waiting.device_id or 0, username="admin")
    live = Subscriber(mqtt_env, topic)
    try:
        started = time.monotonic()
        assert publish_package(package_id) == "published"
        (retained, msg), = live.wait(1)[-1:]
        trusted = {k["key_id"]: unb64(k["public_key"]) for k in signing.keys_document()["keys"]}
        assert verify_document(msg, trusted)
        assert (msg["schema"], msg["action"]) == ("bantin.emergency/1", "play")
        item = msg["item"]
        assert item["manifest_hash"] == manifest and item["kind"] == "emergency" and item["repeat_every_s"] > 0
        assert item["audio"]["url"].startswith("http://bantin.test/device/v1/files/")
        assert datetime.fromisoformat(item["expires_at"].replace("Z", "+00:00")) > datetime.now(UTC)
        assert time.monotonic() - started < 30
        # The same item is in the pull schedule (same id), first.
        polled = dev.request("GET", "/device/v1/schedule").json()["items"][0]
        assert (polled["item_id"], polled["kind"]) == (item["item_id"], "emergency")

        late = Subscriber(mqtt_env, topic)  # a device that connects after the push still gets it
        try:
            retained_late, late_msg = late.wait(1)[0]
            assert retained_late and late_msg["item"]["item_id"] == item["item_id"]
        finally:
            late.close()

        # One device confirms; the package's device status shows who has not.
        ack = {"manifest_hash": manifest, "item_id": item["item_id"], "received_at": datetime.now(UTC).isoformat(),
               "channel": "mqtt"}
        assert dev.request("POST", "/device/v1/ack", ack).status_code == 204
        with session() as s:
            status = {r["id"]: r["acked_at"] for r in device_service.package_device_status(s, manifest, [AREA])}
        assert status[dev.device_id] is not None and status[waiting.device_id] is None

        assert publish_package(package_id) == "published"  # a rerun pushes nothing again
        time.sleep(0.5)
        assert len(live.messages) == 1

        with session() as s:
            packages.set_status(s, packages.get_package(s, package_id), PackageStatus.WITHDRAWN, actor="test",
                                reason="hết nguy hiểm")
        retract_package(package_id)
        _, stop = live.wait(2)[-1]
        assert stop["action"] == "stop" and stop["item"]["manifest_hash"] == manifest
        assert verify_document(stop, trusted)
        assert dev.request("GET", "/device/v1/schedule").json()["withdrawn"] == [manifest]
    finally:
        live.close()
