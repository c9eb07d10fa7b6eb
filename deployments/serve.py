"""Register every bantin deployment on the work pool and run a process worker (``python -m deployments.serve``).

Needs a Prefect server (``PREFECT_API_URL``; ``bantin serve`` starts one when none is set). Creates the work
pool ``bantin`` with its prioritised queues (``tasks.runs.QUEUES``: emergency, publishing, production,
archive), the ``bantin-ml`` global concurrency limit, and the deployments (the same names as
deployments/prefect.yaml, code from this checkout), then runs ``prefect worker start --pool bantin``: it polls
the queues in priority order, so an emergency never waits behind a production run, and runs each flow run
as a child process. With ``BANTIN_WARM_WORKER`` (the default) that worker serves the ``archive`` queue only:
:mod:`deployments.warm` workers run production runs (produce, transcribe, programmes) inside one long-lived
process, so their models load once, and emergency and publishing runs inside another, so they start at once.
The scheduled ones (publish-due with the crash sweeper every ``BANTIN_SWEEP_INTERVAL_S``,
programmes every ``BANTIN_PROGRAM_BUILD_INTERVAL_S``) and those started by the
web app, the CLI or the Prefect UI all go through the queues. Stop it before the server (SIGTERM: it stops
the worker with SIGINT twice, then SIGKILL after a grace period).

``--register-only`` registers and exits (e.g. from a deploy job); ``--worker-only`` only runs a worker.
"""

import argparse
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from settings import Settings, configure_prefect_env, get_settings
from tasks.limits import ONE_SLOT_LIMITS
from tasks.runs import DEPLOYMENTS as SPECS
from tasks.runs import POOL, QUEUES, RELAY_QUEUE

log = logging.getLogger("bantin.serve")
ROOT = Path(__file__).resolve().parents[1]
PROGRAM_ANCHOR = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
TZ = "Asia/Ho_Chi_Minh"
RESTART_S = 5.0
MAIN_QUEUES = tuple(q for q, _, _ in QUEUES if q != RELAY_QUEUE)  # the main workers'; relays have their own
BACKGROUND_QUEUES = frozenset({"production", "archive"})
BACKGROUND_NICE = 10  # the CPU niceness of workers serving only BACKGROUND_QUEUES


def _every(seconds: int) -> Any:
    from prefect.schedules import Interval

    # A fixed anchor puts runs on interval boundaries (:00, :15, … for 900 s, as the cron in prefect.yaml), so
    # the first run comes within one interval of start-up and a restart does not shift the schedule.
    return Interval(timedelta(seconds=seconds), anchor_date=PROGRAM_ANCHOR, timezone=TZ)


def _options(s: Settings) -> dict[str, dict[str, Any]]:
    from prefect.schedules import Cron

    return {
        # No deployment limit: a killed run would hold it for Prefect's 5-minute lease, and recovering from
        # kills is this run's job; publish_due holds the 1-minute ``bantin-due`` slot instead.
        "due": {"schedules": [_every(s.sweep_interval_s)]},
        # Daily at 02:30 Vietnam time, when nobody is answering feedback. Like relay-due, no deployment limit
        # (a killed run would hold it for five minutes): two overlapping runs do the work once, each item erased
        # and audited by one of them (compare-and-set), each airing claimed by one (an insert that skips a taken
        # airing): tests/integration/test_overlapping_runs.py.
        "erase-feedback-contacts": {"schedules": [Cron("30 2 * * *", timezone=TZ)]},
        "relay-due": {"schedules": [Cron("* * * * *", timezone=TZ)]},
        # Builds must not overlap, but not through a deployment limit either (a killed run would hold it for
        # five minutes): a scheduled run holds the 1-minute bantin-program (bantin-reports) slot, or skips its turn.
        "program": {"schedules": [_every(s.program_build_interval_s)], "parameters": {"skip_if_busy": True}},
        "reports": {"schedules": [_every(s.reports_interval_s)], "parameters": {"skip_if_busy": True}},
    }


def _tags(name: str) -> list[str]:
    extra = {"transcribe": ["ml"], "archive-ingest": ["ml"], "emergency": ["emergency"],
             "transcribe-feedback-voice": ["ml"]}
    return ["bantin", *extra.get(name, [])]


def _deployment(name: str) -> Callable[[Settings], Any]:
    def build(s: Settings) -> Any:
        from prefect.flows import load_flow_from_entrypoint

        spec = SPECS[name]
        flow: Any = load_flow_from_entrypoint(str(ROOT / spec.entrypoint))  # to_deployment's _sync is untyped
        # _sync: Prefect returns a coroutine when it believes it runs in an event loop (a caller's loop left
        # behind in this thread); building deployments is always synchronous here.
        return flow.to_deployment(name=name, tags=_tags(name), work_pool_name=POOL, work_queue_name=spec.queue,
                                  _sync=True, **_options(s).get(name, {}))
    return build


DEPLOYMENTS: dict[str, Callable[[Settings], Any]] = {name: _deployment(name) for name in SPECS}


def build_deployments(settings: Settings, only: list[str] | None = None) -> list[Any]:
    """The deployments to register (all, or the names in ``only``), each on its queue of the work pool.

    Raises:
        ValueError: an unknown name in ``only``.
    """
    names = only or list(DEPLOYMENTS)
    unknown = sorted(set(names) - set(DEPLOYMENTS))
    if unknown:
        raise ValueError(f"unknown deployment(s) {', '.join(unknown)} (known: {', '.join(DEPLOYMENTS)})")
    return [DEPLOYMENTS[name](settings) for name in names]


def register(settings: Settings, only: list[str] | None = None) -> list[str]:
    """Create the pool, queues and limits, and register the deployments with this checkout as their code.

    Returns:
        The names registered.
    """
    from prefect.runner.storage import LocalStorage

    from deployments.setup import ensure_global_limit, ensure_ml_limit, ensure_work_pool

    ensure_work_pool()
    try:
        ensure_ml_limit(settings.ml_concurrency, resize=False)
        for name in ONE_SLOT_LIMITS:
            ensure_global_limit(name, 1)
    except Exception as exc:  # an old server without global limits: ML tasks then run unthrottled
        log.warning("could not create the bantin-ml and one-slot concurrency limits: %s", exc)
    deployments = build_deployments(settings, only)
    for d in deployments:  # the worker runs the flow from this checkout (no image, no remote storage)
        d.storage = LocalStorage(str(ROOT))
        d.entrypoint = SPECS[d.name].entrypoint
    from prefect import deploy

    deploy(*deployments, work_pool_name=POOL, build=False, push=False, print_next_steps_message=False,
           ignore_warnings=True)
    return [d.name for d in deployments]


def worker_command(limit: int | None, queues: tuple[str, ...] | list[str] = MAIN_QUEUES) -> list[str]:
    cmd = [str(Path(sys.executable).parent / "prefect"), "worker", "start", "--pool", POOL, "--type", "process"]
    for queue in queues:
        cmd += ["--work-queue", queue]
    return cmd + (["--limit", str(limit)] if limit else [])


def worker_commands(limit: int | None, *, warm: bool, relay_limit: int = 0) -> list[list[str]]:
    """The worker processes to run: Prefect's process worker for every queue but relay, or (``warm``) for the
    archive queue only, the production queue and the emergency and publishing queues being served by two warm
    workers that execute their runs in their own long-lived process (:mod:`deployments.warm`); with
    ``relay_limit``, a process worker of its own for relay airings (each as long as its slot)."""
    from deployments.warm import URGENT_QUEUES, WARM_QUEUES

    relay = [worker_command(relay_limit, (RELAY_QUEUE,))] if relay_limit else []
    if not warm:
        return [worker_command(limit)] + relay
    extra = ["--limit", str(limit)] if limit else []
    cold = [q for q in MAIN_QUEUES if q not in WARM_QUEUES + URGENT_QUEUES]
    return [worker_command(limit, cold)] + [
        [sys.executable, "-m", "deployments.warm", *(a for q in queues for a in ("--queue", q)), *extra]
        for queues in (URGENT_QUEUES, WARM_QUEUES)] + relay


def niceness(cmd: list[str]) -> int:
    """How nice a worker process runs: production and archive runs (TTS, ffmpeg, Whisper: seconds to minutes of
    CPU each) at :data:`BACKGROUND_NICE`, so on a busy machine the emergency and publishing runs get the cores
    first; a worker serving any other queue (emergency, publishing, relay airings, which stream in real time)
    at 0. The flow-run processes a worker starts (ffmpeg, espeak-ng) inherit it."""
    queues = {cmd[i + 1] for i, arg in enumerate(cmd[:-1]) if arg in ("--queue", "--work-queue")}
    return BACKGROUND_NICE if queues and queues <= BACKGROUND_QUEUES else 0


def _child_setup(nice: int) -> Callable[[], None]:
    from deployments.local import die_with_parent

    def setup() -> None:  # in the child, before exec
        die_with_parent()
        if nice:
            os.nice(nice)
    return setup


def run_worker(limit: int | None, *, warm: bool = False, relay_limit: int = 0) -> int:
    """Run the workers until SIGTERM/SIGINT, then stop them (SIGINT twice, SIGKILL after a grace period). A
    worker that exits meanwhile is started again (the runs a warm worker took with it are marked crashed).
    Production and archive workers run nice (:func:`niceness`): an emergency never waits for the CPU either."""
    import time

    from deployments.local import stop

    env = dict(os.environ)
    env.setdefault("PREFECT_WORKER_QUERY_SECONDS", "2")  # an emergency is picked up within ~2 s
    env.setdefault("PREFECT_WORKER_PREFETCH_SECONDS", "0")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmds = worker_commands(limit, warm=warm, relay_limit=relay_limit)
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, preexec_fn=_child_setup(niceness(cmd))) for cmd in cmds]
    started = [time.monotonic()] * len(procs)
    stopping: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if stopping:  # already stopping the worker: a supervisor's second signal must not cut that short
            return
        stopping.append(signum)
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    try:
        while True:
            time.sleep(0.5)
            for n, proc in enumerate(procs):
                # A worker that died (killed, out of memory) is started again, at most every RESTART_S.
                if proc.poll() is not None and time.monotonic() - started[n] > RESTART_S:
                    cmd = cmds[n]
                    log.warning("worker %s exited with %s; starting it again", cmd[:3], proc.returncode)
                    if "deployments.warm" in cmd:
                        _mark_lost_runs(proc.pid, tuple(cmd[i + 1] for i, a in enumerate(cmd) if a == "--queue"))
                    procs[n] = subprocess.Popen(cmd, env=env, cwd=ROOT, preexec_fn=_child_setup(niceness(cmd)))
                    started[n] = time.monotonic()
    except KeyboardInterrupt:
        pass
    for proc in procs:  # within the parent's first grace period
        stop(proc, grace_s=12.0, first=signal.SIGINT)
    return 0


def _mark_lost_runs(pid: int, queues: tuple[str, ...]) -> None:
    from deployments.warm import mark_lost_runs

    try:
        lost = mark_lost_runs(pid, queues)
    except Exception as exc:  # noqa: BLE001 (the server is unreachable: the runs stay as they are)
        log.warning("could not mark the runs of the stopped warm worker crashed: %s", exc)
        return
    if lost:
        log.warning("runs of the stopped warm worker marked crashed: %s", ", ".join(lost))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Register bantin's deployments and run a worker.")
    parser.add_argument("--only", action="append", metavar="NAME", choices=sorted(DEPLOYMENTS),
                        help="register only this deployment (repeatable); default: all")
    parser.add_argument("--limit", type=int, default=None, help="at most this many concurrent flow runs")
    parser.add_argument("--relay-limit", type=int, default=0,
                        help="also run a worker for the relay queue taking this many airings at once")
    parser.add_argument("--register-only", action="store_true", help="register the deployments and exit")
    parser.add_argument("--worker-only", action="store_true", help="only run a worker")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    configure_prefect_env(settings)
    if not args.worker_only:
        names = register(settings, args.only)
        log.info("registered %d deployments on work pool %s", len(names), POOL)
    if args.register_only:
        return
    sys.exit(run_worker(args.limit, warm=settings.warm_worker, relay_limit=args.relay_limit))


if __name__ == "__main__":
    main()
