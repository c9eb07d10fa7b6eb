"""Run the whole stack on one machine: a Prefect server (unless one is configured), the flow runner, and
whatever the caller runs in the foreground (``bantin serve``: the web app).

Children are stopped in reverse order of start: the runner before the Prefect server, because a runner whose
server is gone ignores SIGTERM (research/infra.md B.4), and each gets SIGTERM, then SIGINT, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from domain.errors import InvalidInput

SERVER_START_S = 180.0  # a cold start (fresh database, migrations) took 20 s here; loaded machines are slower


def die_with_parent() -> None:
    """In the child (Linux): get SIGTERM when the parent dies, so a killed ``bantin serve`` leaves no orphans."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: rely on the orderly stop


def stop(proc: subprocess.Popen[bytes], grace_s: float = 20.0, first: signal.Signals = signal.SIGTERM) -> None:
    """Stop a child: ``first`` (SIGTERM), then SIGINT (Prefect workers need a second signal), then SIGKILL."""
    if proc.poll() is not None:
        return
    for sig in (first, signal.SIGINT):
        proc.send_signal(sig)
        try:
            proc.wait(timeout=grace_s / 2)
            return
        except subprocess.TimeoutExpired:
            continue
    proc.kill()
    proc.wait(timeout=10)


def record_server(home: Path, api_url: str, pid: int) -> Path:
    """Write ``<home>/prefect/server.json`` so CLI commands talk to this server instead of starting their own."""
    import json

    path = home / "prefect" / "server.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"api_url": api_url, "pid": pid}), encoding="utf-8")
    return path


def server_environment(env: dict[str, str], api_url: str, database_url: str) -> dict[str, str]:
    """The environment of a local ``prefect server start``: its UI calls the API on ``api_url`` (not Prefect's
    default port), and its database is ``database_url`` (PostgreSQL, created if missing) or SQLite ("")."""
    from deployments.prefect_db import ensure_database, server_env

    env = dict(env)
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_UI_API_URL"] = env["PREFECT_SERVER_UI_API_URL"] = api_url
    if database_url:
        ensure_database(database_url)
        env.update(server_env(database_url))
    return env


def start_detached_server(home: Path, port: int, database_url: str = "") -> str:
    """Start a Prefect server that outlives this command (``bantin prefect up``); returns its API URL.

    Args:
        database_url: its database (``BANTIN_PREFECT_DATABASE_URL``): PostgreSQL, or "" for SQLite.

    Raises:
        InvalidInput: the port is taken, the database cannot be reached, or the server did not become healthy.
    """
    api_url = f"http://127.0.0.1:{port}/api"
    if _answers(api_url):
        raise InvalidInput(f"a Prefect server already answers on port {port}")
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = server_environment(dict(os.environ), api_url, database_url)
    with (logs / "prefect-server.log").open("ab") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host",
                                 "127.0.0.1", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_healthy(api_url, proc)
    except InvalidInput:
        _kill_group(proc)
        raise
    record_server(home, api_url, proc.pid)
    return api_url


def stop_detached_server(home: Path) -> bool:
    """Stop the server ``bantin prefect up`` started (its whole process group). Returns whether one ran."""
    import json

    path = home / "prefect" / "server.json"
    try:
        pid = int(json.loads(path.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    path.unlink(missing_ok=True)
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill what is left of a stopped child's process group (its own children: uvicorn under ``prefect server
    start``, flow-run processes under a worker), so nothing outlives ``bantin serve``."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _answers(api_url: str) -> bool:
    try:
        return bool(httpx.get(f"{api_url}/health", timeout=2).json() is True)
    except (httpx.HTTPError, ValueError):
        return False


def wait_healthy(api_url: str, proc: subprocess.Popen[bytes] | None, timeout_s: float = SERVER_START_S) -> None:
    """Wait until ``{api_url}/health`` answers true.

    Raises:
        InvalidInput: the server exited or did not answer in time.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _answers(api_url):
            return
        if proc is not None and proc.poll() is not None:
            raise InvalidInput(f"the Prefect server exited with status {proc.returncode}; see its log")
        time.sleep(0.5)
    raise InvalidInput(f"the Prefect server at {api_url} did not become healthy in {timeout_s:.0f} s")


def block_until_stopped() -> None:
    """Wait in the foreground until Ctrl-C or SIGTERM (then the caller's ``local_stack`` stops the children)."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with SIGINT ignored, and supervisors may send either.
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def local_stack(*, home: Path, prefect_port: int = 4200, flows: bool = True,
                log: bool = True, database_url: str = "") -> Iterator[str]:
    """Start what is missing for flows to run here, yield the Prefect API URL, and stop it all on exit.

    With ``PREFECT_API_URL`` set, that server is used; otherwise ``prefect server start`` runs on
    127.0.0.1:``prefect_port`` with its database at ``database_url`` (PostgreSQL) or, without one, in SQLite
    under ``home`` (its UI lists deployments and runs).
    With ``flows``, ``python -m deployments.serve`` serves every deployment.

    Args:
        home: bantin's home directory (logs go to ``home/logs``).
        prefect_port: Port of the local Prefect server.
        flows: Also run the flow runner.
        log: Write the children's output to log files (else inherit the terminal).
    """
    env = dict(os.environ)
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []
    bin_dir = Path(sys.executable).parent
    record: Path | None = None

    def spawn(args: list[str], name: str, child_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        out = (logs / f"{name}.log").open("ab") if log else None
        # A session of its own: a Ctrl-C in the terminal must not reach the server before the runner is stopped.
        proc = subprocess.Popen(args, env=child_env or env, stdout=out, stderr=subprocess.STDOUT if out else None,
                                start_new_session=True, preexec_fn=die_with_parent)
        started.append(proc)
        return proc

    try:
        api_url = env.get("PREFECT_API_URL", "")
        if not api_url:
            api_url = f"http://127.0.0.1:{prefect_port}/api"
            if _answers(api_url):  # someone else's server: do not silently share it
                raise InvalidInput(f"a Prefect server already answers on port {prefect_port}: set "
                                   f"PREFECT_API_URL={api_url} to use it, or choose --prefect-port")
            env["PREFECT_UI_API_URL"] = env["PREFECT_SERVER_UI_API_URL"] = api_url  # the UI's API: this port
            server = spawn([str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                            str(prefect_port)], "prefect-server", server_environment(env, api_url, database_url))
            wait_healthy(api_url, server)
            record = record_server(home, api_url, server.pid)  # CLI commands meanwhile use this server
            env["PREFECT_API_URL"] = api_url
            os.environ["PREFECT_API_URL"] = api_url  # the foreground app talks to the same server
            os.environ.setdefault("PREFECT_UI_URL", api_url.removesuffix("/api"))  # links on the package page
        else:
            wait_healthy(api_url, None, timeout_s=30)
        if flows:  # registers the deployments on the work pool, then runs a worker
            from settings import get_settings

            settings = get_settings()
            spawn([sys.executable, "-m", "deployments.serve", "--limit", str(settings.worker_limit),
                   "--relay-limit", str(settings.relay_worker_limit)], "flows")
        yield api_url
    finally:
        for proc in reversed(started):  # worker first, then the server
            stop(proc)
            _kill_group(proc)
        if record is not None:
            record.unlink(missing_ok=True)
