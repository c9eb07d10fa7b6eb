"""Fixtures for the agent's end-to-end tests: an installation with a published bulletin served by the real
``bantin serve`` in a subprocess, a Mosquitto broker, and ``bantin-device`` processes."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.conftest import unavailable

BIN = Path(sys.executable).parent
T = TypeVar("T")
BODY = ("Thông báo tiêm vắc xin sởi\n"
        "Trạm y tế xã Đa Lộc tổ chức tiêm vắc xin sởi miễn phí cho trẻ em vào sáng thứ Bảy. "
        "Phụ huynh mang theo sổ tiêm chủng.")
EMERGENCY_TITLE = "Cảnh báo lũ quét ở ấp Đa Hòa"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(predicate: Callable[[], T], timeout: float, what: str, every: float = 0.1) -> T:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class ServerProcess:
    """``bantin serve`` (the web app alone: the device API needs no flow runner) on a fixed loopback port,
    stoppable and restartable on the same home."""

    def __init__(self, home: Path, port: int, log: Path, extra_env: dict[str, str]) -> None:
        self.home, self.port, self.log, self.extra_env = home, port, log, extra_env
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BANTIN_")}
        # no schedule caching between polls: a publish shows at the agents' next poll, not 5 s later
        return {**env, **self.extra_env, "BANTIN_HOME": str(self.home), "BANTIN_DEVICE_CACHE_S": "0"}

    def start(self) -> None:
        with open(self.log, "ab") as out:
            # its own process group, so stopping it also stops anything it started
            self.proc = subprocess.Popen([str(BIN / "bantin"), "serve", "--host", "127.0.0.1", "--port",
                                          str(self.port)], env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            try:
                return httpx.get(self.url + "/device/v1/keys", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        try:
            wait_for(up, 60, "bantin serve to answer", every=0.2)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def cli(self, *args: str) -> str:
        out = subprocess.run([str(BIN / "bantin"), *args], env=self.env(), capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class AgentProcess:
    """One ``bantin-device`` process (``python -m device_agent``) with its own state directory."""

    name: str
    state: Path
    args: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.state.parent / f"{self.name}.log"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "device_agent", "--state-dir", str(self.state),
                                          "--name", self.name, *self.args], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def status(self) -> dict[str, Any]:
        try:
            return json.loads((self.state / "status.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class Installation:
    home: Path
    server: ServerProcess
    package_id: int
    manifest_hash: str
    audio_sha256: str
    trust_key: str
    emergency_id: int
    emergency_hash: str
    emergency_expires: datetime


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None,
                 mqtt_broker: tuple[str, int]) -> Iterator[Installation]:
    """A fresh home with two approved packages for Xã Đa Lộc: a bulletin (ưu tiên) produced through the real
    produce flow (real speech, loudness, slides), and an emergency (khẩn cấp) written through the real
    repositories by ``tests/devices/factory.py`` (a second produce run would add half a minute and test nothing
    the first does not). The test publishes both with the real publish flow once devices are authorised
    (publishing needs someone to reach). The real web app serves the home from a subprocess; ``BANTIN_HOME`` and the
    MQTT settings point at it and at the broker while the module's tests run, so the publish flow pushes the
    emergency to the same broker the agents listen to."""
    from cli.main import seed_demo_users
    from domain.approvals import Role
    from domain.packages import PackageStatus
    from flows.produce import produce_package
    from services import approvals, runtime
    from services import drafts as draft_service
    from services.packages import package_view
    from services.runtime import object_store, session
    from settings import get_settings
    from storage.migrate import upgrade
    from storage.repositories import areas, users
    from tests.devices.factory import published_package

    home = tmp_path_factory.mktemp("agent-e2e")
    settings_env = {"BANTIN_MQTT_HOST": mqtt_broker[0], "BANTIN_MQTT_PORT": str(mqtt_broker[1]),
                    "BANTIN_EMERGENCY_REPEAT_S": "30"}
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BANTIN_HOME", str(home / "home"))
        for var in ("BANTIN_DATABASE_URL", "BANTIN_STORE", "BANTIN_STORE_DIR", "BANTIN_USER"):
            mp.delenv(var, raising=False)
        for var, value in settings_env.items():
            mp.setenv(var, value)
        runtime.reset()
        upgrade(get_settings().database_url)
        with session() as s:
            areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
            seed_demo_users(s)
            users.add_user(s, username="admin", full_name="Quản trị xã", roles=[Role.ADMIN])
            draft_id = draft_service.submit_text_draft(s, object_store(), draft_service.DraftRequest(
                body=BODY, area_codes=["29377"], languages="vi", priority="uu_tien", author="demo-editor",
                requesting_unit="UBND xã Đa Lộc")).draft_id
        server = ServerProcess(home / "home", free_port(), home / "server.log", settings_env)
        try:
            # the server starts and the operator reads the key while the bulletin is produced (each takes seconds)
            with ThreadPoolExecutor(2) as pool:
                started = pool.submit(server.start)
                shown = pool.submit(server.cli, "keys", "show")
                package_ids = [produce_package(draft_id)]
                with session() as s:
                    approvals.approve_package(s, package_id=package_ids[0], username="demo-approver")
                package_ids.append(published_package(title=EMERGENCY_TITLE, languages="vi", priority="khan_cap",
                                                     status=PackageStatus.APPROVED, expires_at=expires)[0])
                views = []
                for package_id in package_ids:
                    with session() as s:
                        views.append(package_view(s, object_store(), package_id))
                started.result()
                key = shown.result().split()[1]  # "<key id>  <base64>  current"
            audio = next(a for v in views[0]["variants"] for a in v["assets"] if a["kind"] == "audio")
            yield Installation(home / "home", server, package_ids[0], views[0]["manifest_hash"], audio["sha256"], key,
                               package_ids[1], views[1]["manifest_hash"], expires)
        finally:
            server.stop()
    runtime.reset()


@pytest.fixture(scope="module")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """Mosquitto at 127.0.0.1:1883, or one started here on a free port."""
    if port_open("127.0.0.1", 1883):
        yield "127.0.0.1", 1883
        return
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if exe is None:
        unavailable("no MQTT broker at 127.0.0.1:1883 and mosquitto is not installed (apt-get install mosquitto)")
    port = free_port()
    log = tmp_path_factory.mktemp("mosquitto") / "mosquitto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(exe), "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: port_open("127.0.0.1", port), 10, "mosquitto to listen")
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
