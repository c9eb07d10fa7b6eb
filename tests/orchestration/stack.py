"""A real Prefect server (SQLite, loopback) and bantin workers as child processes, for orchestration tests."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from deployments.local import stop
from tests.conftest import unavailable

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent
SERVER_START_S = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BANTIN_"))}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PREFECT_LOGGING_LEVEL="WARNING")
    env.update(extra)
    return env


@contextmanager
def prefect_server(base: Path) -> Iterator[str]:
    """``prefect server start`` on a free port; yields its API URL."""
    port = free_port()
    env = clean_env(PREFECT_HOME=str(base / "server"), PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="1")
    log = (base / "server.log").open("wb")
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                             "--no-ui"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=base,
                            start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + SERVER_START_S
    while True:
        try:
            if httpx.get(f"{api}/health", timeout=2).json() is True:
                break
        except (httpx.HTTPError, ValueError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            unavailable(f"prefect server did not start: {(base / 'server.log').read_text(errors='replace')[-800:]}")
        time.sleep(0.5)
    try:
        yield api
    finally:
        stop(proc)
        log.close()


def runs(api: str, **flt: object) -> list[dict]:  # type: ignore[type-arg]
    return list(httpx.post(f"{api}/flow_runs/filter", json=flt, timeout=10).json())


def wait_for(what: str, check, timeout_s: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def register(api: str, base: Path, **extra: str) -> None:
    """Create the pool, queues and limits and register every deployment (code: this checkout); ``extra``
    settings (e.g. ``BANTIN_SWEEP_INTERVAL_S``) shape the schedules."""
    env = clean_env(PREFECT_API_URL=api, PREFECT_HOME=str(base / "client"), PYTHONPATH=str(ROOT),
                    BANTIN_HOME=str(base / "register-home"), **extra)
    out = subprocess.run([sys.executable, "-m", "deployments.serve", "--register-only"], env=env, cwd=ROOT,
                         capture_output=True, timeout=600)
    assert out.returncode == 0, out.stderr.decode(errors="replace")[-2000:]


def pause(api: str, deployment_id: str, attempts: int = 20) -> None:
    """Pause a deployment; a busy Prefect server (its SQLite database locked by the scheduler creating runs)
    may answer 503 for a moment, which is retried a bounded number of times."""
    for _ in range(attempts):
        resp = httpx.patch(f"{api}/deployments/{deployment_id}", json={"paused": True}, timeout=10)
        if resp.status_code != 503:
            resp.raise_for_status()
            return
        time.sleep(0.5)
    resp.raise_for_status()


def deployment_ids(api: str) -> dict[str, str]:
    """Registered deployments: name -> id."""
    return {d["name"]: d["id"] for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()}


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = (int(x) for x in line.split())
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def flow_run_process(api: str, root: int, flow_run_id: str) -> int | None:
    """The process below ``root`` that executes ``flow_run_id`` (the worker records it as the run's
    infrastructure pid: a child per run, or a warm worker itself), once it runs."""
    pid = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=10).json().get("infrastructure_pid")
    return int(pid) if pid and int(pid) in descendants(root) else None


@contextmanager
def worker(api: str, home: Path, log: Path, limit: int = 4, **extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """A bantin worker (``deployments.serve --worker-only``) for the installation at ``home``."""
    import signal

    env = clean_env(PREFECT_API_URL=api, PREFECT_HOME=str(home / "prefect-client"), BANTIN_HOME=str(home),
                    PYTHONPATH=str(ROOT), **extra)
    proc = subprocess.Popen([sys.executable, "-m", "deployments.serve", "--worker-only", "--limit", str(limit)],
                            env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
