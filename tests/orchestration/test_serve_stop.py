"""``bantin serve --flows-only`` (no PREFECT_API_URL) starts a Prefect server, registers the deployments and runs
a worker; SIGTERM stops every process it started (no orphaned Prefect server) and removes the server record."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.orchestration.stack import BIN, ROOT, clean_env, descendants, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_sigterm_stops_every_process_serve_started(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = clean_env(BANTIN_HOME=str(home), PYTHONPATH=str(ROOT), PREFECT_HOME=str(tmp_path / "prefect"))
    assert subprocess.run([str(BIN / "bantin"), "init"], env=env, cwd=ROOT, capture_output=True,
                          timeout=300).returncode == 0
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    proc = subprocess.Popen([str(BIN / "bantin"), "serve", "--flows-only", "--prefect-port", str(port)], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def registered() -> bool:
            try:
                names = {d["name"] for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()}
            except (httpx.HTTPError, ValueError):
                return False
            return {"emergency", "publish", "produce", "due"} <= names

        wait_for("the server and the registered deployments", registered, 400)
        assert (home / "prefect" / "server.json").exists()  # CLI commands meanwhile reuse this server
        def with_worker() -> set[int] | None:
            procs = descendants(proc.pid)
            return procs if any(b"worker" in _cmdline(p) for p in procs) else None

        started = wait_for("the worker", with_worker, 120)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out.decode(errors="replace")[-2000:]
    time.sleep(0.5)
    alive = []
    for pid in started:
        try:
            os.kill(pid, 0)
            alive.append(_cmdline(pid).decode(errors="replace"))
        except ProcessLookupError:
            pass
    assert alive == []
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{api}/health", timeout=2)
    assert not (home / "prefect" / "server.json").exists()
