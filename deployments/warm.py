"""A warm worker for the ``production`` queue (``python -m deployments.warm``): flow runs execute inside this one
long-lived process, so the models they load (the Vietnamese segmenter and summariser, Whisper, TTS and
translation models: every ``lru_cache``d loader in ``engines/``) load once per worker, not once per run.

Prefect's process worker and ``serve()`` runner both start a new Python process per flow run (the engine
command, or a spawned ``multiprocessing`` child), so nothing loaded survives a run. This worker is Prefect's
own ``ProcessWorker`` (same pool type, same polling, pending/submitted states, limit, heartbeats) whose
``run`` executes the flow run with Prefect's engine (``prefect.flow_engine.run_flow``, what ``python -m
prefect.engine`` does in the child) in a thread of this process instead of a child process.

What changes against a child process per run:
- a run that kills the process (a crash in native code, ``kill -9``) takes the runs beside it down too; the
  sweeper (``flows.sweep``, run by every ``due`` run) re-queues their packages, as for any crash;
- cancelling a *running* production run from the Prefect UI is not obeyed (a pending one is cancelled); the
  run finishes, and its package can be withdrawn;
- flows run with this checkout's code (the deployment's pull steps are not run): the code the worker started
  with, as for a ``prefect.yaml`` deployment whose ``pull`` is ``set_working_directory``.

``deployments.serve`` runs two of them: one for ``production`` and one for ``emergency`` and ``publishing``
(no models there, but no process start either: on a busy machine starting Python and importing the flows
took 5-10 s of an emergency's time to the device), so nothing that must answer fast shares a process with
production. The ``archive`` queue keeps Prefect's process worker.
"""

import abc
import argparse
import asyncio
import functools
import logging
import os
import signal
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
from prefect.workers.process import ProcessWorker, ProcessWorkerResult

from settings import configure_prefect_env, get_settings
from tasks.flow_engine import install as no_heartbeat_wait
from tasks.runs import POOL

log = logging.getLogger("bantin.warm")
ROOT = Path(__file__).resolve().parents[1]
WARM_QUEUES = ("production",)  # models: the segmenter, Whisper, voices
URGENT_QUEUES = ("emergency", "publishing")  # no models, but no process start (seconds on a busy machine)


@functools.lru_cache(maxsize=64)
def _flow(entrypoint: str) -> Any:
    """A deployment's flow, loaded once (its module's imports, and what they cache, stay loaded)."""
    from prefect.flows import load_flow_from_entrypoint

    path, _, name = entrypoint.partition(":")
    return load_flow_from_entrypoint(f"{ROOT / path}:{name}")


def execute(flow_run_id: UUID, entrypoint: str) -> int:
    """Run one flow run in this process with Prefect's flow engine (it reports every state to the server).

    Returns:
        0 when the run reached a final state (completed or failed: the server has it), else 1 (the worker then
        marks it crashed).
    """
    from prefect.client.schemas.objects import State
    from prefect.flow_engine import flow_run_logger, load_flow_run, run_flow

    no_heartbeat_wait()  # the run's thread is free when its flow ends, not up to a second later
    flow_run = load_flow_run(flow_run_id=flow_run_id)
    try:
        flow = _flow(entrypoint)
    except Exception:
        flow_run_logger(flow_run=flow_run).exception("could not load the flow %s", entrypoint)
        return 1
    state = run_flow(flow, flow_run=flow_run, return_type="state")
    return 0 if isinstance(state, State) and state.is_final() else 1


class WarmWorker(ProcessWorker, abc.ABC):
    """Prefect's process worker, executing each flow run in a thread of its own process (see module doc).

    ``abc.ABC`` among the bases keeps Prefect from registering it as *the* worker of type ``process`` (its
    type registry skips abstract-marked classes), so ``ProcessWorker`` stays what that type means.
    """

    async def run(self, flow_run: Any, configuration: Any,
                  task_status: anyio.abc.TaskStatus[int] | None = None) -> ProcessWorkerResult:
        deployment = await self.client.read_deployment(flow_run.deployment_id)
        if task_status is not None:
            task_status.started(os.getpid())
        # The worker's limit caps how many runs are here at once (each holds one thread).
        code = await anyio.to_thread.run_sync(execute, flow_run.id, deployment.entrypoint or "")
        return ProcessWorkerResult(status_code=code, identifier=str(os.getpid()))


def mark_lost_runs(pid: int, queues: tuple[str, ...] = WARM_QUEUES) -> list[str]:
    """Mark crashed the runs a warm worker that died (``pid``) was executing: nobody else reports their end,
    and left running they would hold the ``production`` queue's concurrency slots. Their packages are
    re-queued by the sweeper.

    Returns:
        The flow run ids marked crashed.
    """
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    from tasks.runs import _client

    flt = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
        any_=[StateType.RUNNING, StateType.PENDING])))
    lost = []
    with _client() as client:
        for run in client.read_flow_runs(flow_run_filter=flt, limit=200):
            if run.infrastructure_pid == str(pid) and run.work_queue_name in queues:
                client.set_flow_run_state(run.id, Crashed(message="the warm worker running it stopped"),
                                          force=True)
                lost.append(str(run.id))
    return lost


async def serve(limit: int, *, queues: tuple[str, ...] = WARM_QUEUES, run_once: bool = False) -> None:
    """Poll ``queues`` of the ``bantin`` pool and run what comes in this process until cancelled."""
    worker = WarmWorker(work_pool_name=POOL, work_queues=list(queues), limit=limit, prefetch_seconds=0)
    await worker.start(run_once=run_once, printer=log.info)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run bantin's production flow runs in one warm process.")
    parser.add_argument("--limit", type=int, default=None, help="at most this many runs at once")
    parser.add_argument("--queue", action="append", dest="queues", help="a queue to serve (repeatable; default "
                        "production)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    configure_prefect_env(settings)
    limit = args.limit or settings.worker_limit

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        asyncio.run(serve(limit, queues=tuple(args.queues or WARM_QUEUES)))
    except KeyboardInterrupt:  # runs still going end with the process; the sweeper re-queues their work
        log.info("warm worker stopped")


if __name__ == "__main__":
    main()
