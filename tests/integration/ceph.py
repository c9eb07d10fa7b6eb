"""A real S3 server for the ``real_s3`` test tier: Ceph radosgw, started by the tests.

Import the fixture into a test module (this is deliberately not a conftest.py)::

    from tests.integration.ceph import ceph_rgw  # noqa: F401

Which server the fixture gives, in order:

1. ``S3_TEST_ENDPOINT`` is set (``host:port`` or ``http[s]://host:port``, with ``S3_TEST_ACCESS_KEY`` and
   ``S3_TEST_SECRET_KEY``; ``S3_TEST_SECURE=1`` for TLS when no scheme is given): that server, as is.
2. The Ceph binaries are installed (``apt-get install radosgw ceph-mon ceph-osd``): a throw-away one-node
   cluster started by ``scripts/ceph-rgw-local.sh`` in a temporary directory, on free ports, with its own
   random keys; stopped and deleted at the end of the session.
3. Otherwise the tier is skipped with the reason, except under ``CI=true``, where it fails: CI must run it.

Start-up takes about 15 s on a fresh directory; a ``restart()`` about 10 s.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "scripts" / "ceph-rgw-local.sh"
CEPH_BINARIES = ("radosgw", "ceph-mon", "ceph-osd", "ceph", "radosgw-admin", "monmaptool", "ceph-authtool")
INSTALL_HINT = "apt-get install radosgw ceph-mon ceph-osd"
START_TIMEOUT = int(os.environ.get("CEPH_START_TIMEOUT", "180"))  # per start-up step, inside the launcher


@dataclass(frozen=True)
class CephRgw:
    """How to reach the S3 server of the tier."""

    endpoint: str  # host:port, the form the minio SDK takes
    access_key: str
    secret_key: str
    data_dir: Path | None  # the cluster's directory; None for an external S3_TEST_ENDPOINT server
    restart: Callable[[], None]  # stop and start the daemons, keeping the data (skips on external servers)
    secure: bool = False
    region: str = "us-east-1"

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str) -> None:
    """Skip the tier, or fail it under CI=true (CI must run it)."""
    if _in_ci():
        pytest.fail(f"real-S3 tier cannot run and CI=true requires it: {reason}", pytrace=False)
    pytest.skip(f"real-S3 tier skipped: {reason}")


def _external() -> CephRgw | None:
    endpoint = os.environ.get("S3_TEST_ENDPOINT", "").strip()
    if not endpoint:
        return None
    access_key = os.environ.get("S3_TEST_ACCESS_KEY", "")
    secret_key = os.environ.get("S3_TEST_SECRET_KEY", "")
    if not access_key or not secret_key:
        pytest.fail("S3_TEST_ENDPOINT is set but S3_TEST_ACCESS_KEY or S3_TEST_SECRET_KEY is not",
                    pytrace=False)
    secure = os.environ.get("S3_TEST_SECURE", "").strip().lower() in ("1", "true", "yes")
    if endpoint.startswith(("http://", "https://")):
        secure = endpoint.startswith("https://")
        endpoint = endpoint.split("://", 1)[1]
    endpoint = endpoint.rstrip("/")

    def restart() -> None:
        pytest.skip(f"restart() needs the Ceph cluster the tests start; S3_TEST_ENDPOINT names {endpoint}")

    return CephRgw(endpoint, access_key, secret_key, None, restart, secure=secure,
                   region=os.environ.get("S3_TEST_REGION", "us-east-1"))


def _free_ports(n: int) -> list[int]:
    """n distinct ports that are free on 127.0.0.1 right now (all held open together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class _Cluster:
    def __init__(self, data_dir: Path, port: int, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.port = port
        self.env = env

    def _launch(self, action: str) -> subprocess.CompletedProcess[str]:
        args = ["bash", str(LAUNCHER), action, str(self.data_dir)]
        if action == "start":
            args.append(str(self.port))
        try:
            # The launcher bounds each of its own steps; this outer bound only guards against a wedged script.
            return subprocess.run(args, env=self.env, capture_output=True, text=True,
                                  timeout=6 * START_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(args, -1, exc.stdout or "", f"timed out: {exc}")

    def start(self) -> None:
        t0 = time.monotonic()
        proc = self._launch("start")
        if proc.returncode != 0:
            self._launch("stop")
            pytest.fail(
                f"Ceph radosgw did not start (rc={proc.returncode}; logs kept in {self.data_dir}/log):\n"
                f"{proc.stdout}{proc.stderr}",
                pytrace=False,
            )
        self.last_start_seconds = time.monotonic() - t0

    def stop(self) -> None:
        proc = self._launch("stop")
        if proc.returncode != 0:
            raise RuntimeError(f"ceph-rgw-local.sh stop failed (rc={proc.returncode}): "
                               f"{proc.stdout}{proc.stderr}")

    def restart(self) -> None:
        self.stop()
        self.start()


_running: CephRgw | None = None  # one cluster per test process, even if several modules import the fixture


@pytest.fixture(scope="session")
def ceph_rgw(request: pytest.FixtureRequest) -> Iterator[CephRgw]:
    """A real S3 server (see the module docstring): connection info, and restart() for local clusters."""
    global _running
    if _running is not None:
        yield _running
        return
    external = _external()
    if external is not None:
        yield external
        return

    missing = [b for b in CEPH_BINARIES if shutil.which(b) is None]
    if missing:
        _unavailable(f"no S3_TEST_ENDPOINT and Ceph is not installed (missing {', '.join(missing)}); "
                     f"{INSTALL_HINT}")
    if shutil.which("bash") is None:
        _unavailable("bash is needed to run scripts/ceph-rgw-local.sh")

    # A short path: Ceph's admin sockets live under it, and Unix socket paths are limited to 107 bytes.
    data_dir = Path(tempfile.mkdtemp(prefix="bantin-ceph-", dir="/tmp" if Path("/tmp").is_dir() else None))
    rgw_port, mon_port, mon_v1_port = _free_ports(3)
    access_key = "BANTIN" + secrets.token_hex(7).upper()
    secret_key = secrets.token_hex(20)
    env = dict(
        os.environ,
        S3_ACCESS_KEY=access_key,
        S3_SECRET_KEY=secret_key,
        CEPH_MON_PORT=str(mon_port),
        CEPH_MON_V1_PORT=str(mon_v1_port),
        CEPH_START_TIMEOUT=str(START_TIMEOUT),
    )
    cluster = _Cluster(data_dir, rgw_port, env)
    cluster.start()  # fails the test (and keeps data_dir for its logs) if the cluster does not come up
    info = CephRgw(f"127.0.0.1:{rgw_port}", access_key, secret_key, data_dir, cluster.restart)
    _running = info
    try:
        yield info
    finally:
        _running = None
        cluster.stop()
        if os.environ.get("BANTIN_KEEP_CEPH_DIR") != "1":
            shutil.rmtree(data_dir, ignore_errors=True)
