"""Emergency approve -> device, through the work pool, with production queued (``benchmarks/produce.py
--emergency`` runs it): the time from an approver's approval of a produced khẩn cấp package to its MQTT
``play`` message arriving on the area's emergency topic, where a device agent preempts what it plays.

The approval and the run start are what the web app does (``services.approvals.approve_package``, then a
``publish`` run on the ``publishing`` queue); a real worker (``deployments.serve --worker-only``) takes it.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
AREA = "00070"  # Phường Hoàn Kiếm (today's units)
TOPIC = f"bantin/v1/area/{AREA}/emergency"
BODY = ("Bão số 3 đổ bộ vào chiều nay. Bà con các thôn ven sông di chuyển ngay đến nhà văn hóa xã, "
        "mang theo giấy tờ và thuốc men, không ở lại trong nhà tạm.")


class Arrivals:
    """A device-like subscriber of the area's emergency topic: when each manifest's ``play`` arrived."""

    def __init__(self) -> None:
        import paho.mqtt.client as mqtt

        self.at: dict[str, float] = {}
        self.cond = threading.Condition()
        ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{os.getpid()}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(TOPIC, qos=1)
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        if not ready.wait(10):
            sys.exit("no MQTT broker on 127.0.0.1:1883")

    def _message(self, client: object, userdata: object, msg: object) -> None:
        now = time.perf_counter()
        payload = getattr(msg, "payload", b"")
        if payload:
            doc = json.loads(payload)
            if doc.get("action") == "play":
                with self.cond:
                    self.at.setdefault(doc["item"]["manifest_hash"], now)
                    self.cond.notify_all()

    def wait(self, manifest_hash: str, timeout: float = 600) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: manifest_hash in self.at, timeout):
                raise TimeoutError(f"no MQTT play for {manifest_hash[:12]} in {timeout:.0f} s")
            return self.at[manifest_hash]

    def close(self) -> None:
        import paho.mqtt.publish as publish

        self.client.disconnect()
        self.client.loop_stop()
        publish.single(TOPIC, b"", qos=1, retain=True, hostname="127.0.0.1", port=1883)  # no retained leftover


def _prepare(count: int) -> list[tuple[int, str]]:
    """An authorised device in the area and ``count`` produced emergency packages awaiting approval."""
    from domain.approvals import Role
    from domain.devices import DeviceKind, Registration
    from domain.signatures import generate_key
    from flows.produce import produce_package
    from services import devices
    from services.drafts import DraftRequest, submit_text_draft
    from services.runtime import object_store, session
    from storage.repositories import packages, users

    with session() as s:
        users.add_user(s, username="bench-admin", full_name="Bench admin", roles=[Role.ADMIN], password=None)
        dev, _ = devices.register(s, Registration(hardware_id="bench-speaker-1", public_key=generate_key().public,
                                                  name="Loa bench", area_code=AREA, kind=DeviceKind.SPEAKER))
        devices.authorise(s, dev.id, username="bench-admin")
    out = []
    for n in range(count):
        with session() as s:
            req = DraftRequest(body=BODY, area_codes=[AREA], languages="vi", priority="khan_cap",
                               author="demo-editor", title=f"Khẩn cấp: bão số 3 ({n + 1})")
            draft_id = submit_text_draft(s, object_store(), req).draft_id
        package_id = produce_package(draft_id)
        with session() as s:
            out.append((package_id, packages.get_package(s, package_id).manifest_hash or ""))
    return out


def _approve_to_device(arrivals: Arrivals, package_id: int, manifest_hash: str) -> float:
    from services.approvals import approve_package
    from services.runtime import session
    from tasks.runs import start_deployment

    start = time.perf_counter()
    with session() as s:
        approve_package(s, package_id=package_id, username="demo-approver")
    start_deployment("publish", {"package_id": package_id}, username="demo-approver")
    return arrivals.wait(manifest_hash) - start


def _queue_production(api: str, text_file: Path, count: int) -> list[str]:
    from services.drafts import DraftRequest, submit_text_draft
    from services.runtime import object_store, session
    from tasks.runs import start_deployment

    body = text_file.read_text(encoding="utf-8")
    ids = []
    for n in range(count):
        with session() as s:
            req = DraftRequest(body=body, area_codes=[AREA], languages="vi", priority="thuong",
                               author="demo-editor", title=f"Lịch tiêm chủng đợt {n + 1}")
            draft_id = submit_text_draft(s, object_store(), req).draft_id
        ids.append(start_deployment("produce", {"draft_id": draft_id}, username=f"editor-{n % 10}"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # measured once production is really running
        try:
            found = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"id": {"any_": ids}}},
                               timeout=30).json()
        except httpx.HTTPError:  # a busy server: ask again
            continue
        if sum(r["state_type"] == "RUNNING" for r in found) >= min(2, count):
            break
        time.sleep(1)
    return ids


def _drop(api: str, run_ids: list[str]) -> None:
    for run_id in run_ids:
        try:
            httpx.delete(f"{api}/flow_runs/{run_id}", timeout=30)
        except httpx.HTTPError:  # the worker is stopped next; a run left queued is harmless here
            pass


def measure(env: dict[str, str], api: str, text_file: Path, repeats: int,
            queued: int) -> Iterator[tuple[str, float, float]]:
    """Rows (name, seconds, 1-minute load average) for the warm worker and the process worker alone."""
    env = dict(env, PREFECT_API_URL=api, BANTIN_MQTT_HOST="127.0.0.1", BANTIN_PUBLIC_BASE_URL="http://bench.test")
    os.environ.update(BANTIN_MQTT_HOST="127.0.0.1", BANTIN_PUBLIC_BASE_URL="http://bench.test")
    reg = subprocess.run([sys.executable, "-m", "deployments.serve", "--register-only"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    if reg.returncode != 0:
        sys.exit(f"registering the deployments failed: {reg.stderr[-1500:]}")
    modes = (("warm worker", "true"), ("process worker", "false"))
    ready = iter(_prepare(len(modes) * (1 + 2 * repeats)))
    arrivals = Arrivals()
    logs = Path(env["BANTIN_HOME"]) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        for label, warm in modes:
            worker = subprocess.Popen([sys.executable, "-m", "deployments.serve", "--worker-only", "--limit", "4"],
                                      env=dict(env, BANTIN_WARM_WORKER=warm), cwd=ROOT, start_new_session=True,
                                      stdout=(logs / f"bench-worker-{warm}.log").open("wb"), stderr=subprocess.STDOUT)
            try:
                _approve_to_device(arrivals, *next(ready))  # warm-up: the worker starts polling
                for _ in range(repeats):
                    yield f"emergency approve -> device, nothing queued ({label})", \
                        _approve_to_device(arrivals, *next(ready)), os.getloadavg()[0]
                backlog = _queue_production(api, text_file, queued)
                try:
                    for _ in range(repeats):
                        yield f"emergency approve -> device, {queued} produce queued ({label})", \
                            _approve_to_device(arrivals, *next(ready)), os.getloadavg()[0]
                finally:
                    _drop(api, backlog)
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    pass
                try:
                    os.killpg(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    finally:
        arrivals.close()
