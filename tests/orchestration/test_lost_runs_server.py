"""A whole-machine crash against a real Prefect server: four produce runs left "running" by workers that are
gone fill the ``production`` queue's four slots, so nothing queued behind them starts. The sweeper (the sweep
flow every ``due`` run ends with) finds the one whose heartbeats stopped five minutes ago, marks it crashed
and queues it again, which frees its slot: the next queued run is handed to a worker; the subflow it ran is
crashed with it. Runs still beating, and their subflows, are left alone."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.orchestration.stack import prefect_server, wait_for

pytestmark = [pytest.mark.flow, pytest.mark.integration, pytest.mark.slow]


def _heartbeat(api: str, run_id: str, occurred: datetime) -> None:
    event = {"id": str(uuid.uuid4()), "occurred": occurred.isoformat(), "event": "prefect.flow-run.heartbeat",
             "resource": {"prefect.resource.id": f"prefect.flow-run.{run_id}"}}
    httpx.post(f"{api}/events", json=[event], timeout=10).raise_for_status()


def _subflow(client: Any, parent: str) -> str:
    """A running subflow run of ``parent`` (what a flow calling another flow creates)."""
    from prefect import flow, task
    from prefect.states import Running

    @task(name="step")
    def step() -> None: ...

    @flow(name="translate-variant")
    def child() -> None: ...

    parent_task = client.create_task_run(step, flow_run_id=parent, dynamic_key=uuid.uuid4().hex)
    return str(client.create_flow_run(child, parent_task_run_id=parent_task.id, state=Running()).id)


def test_the_sweeper_crashes_a_run_whose_machine_died_and_its_queue_slot_frees(
        tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Running

    from deployments.setup import ensure_work_pool
    from flows.sweep import sweep
    from tasks.runs import start_deployment

    with prefect_server(tmp_path) as api, temporary_settings({PREFECT_API_URL: api}):
        monkeypatch.setenv("PREFECT_API_URL", api)
        ensure_work_pool()  # production: four runs at once
        with get_client(sync_client=True) as client:
            flow_id = client.create_flow_from_name("produce-package")
            client.create_deployment(flow_id=flow_id, name="produce", work_pool_name="bantin",
                                     work_queue_name="production", entrypoint="flows/produce.py:produce_package")
            running = [start_deployment("produce", {"draft_id": n}, username="demo-editor") for n in (1, 2, 3, 4)]
            waiting = start_deployment("produce", {"draft_id": 5}, username="demo-editor")
            for run_id in running:  # taken and started by workers
                client.set_flow_run_state(run_id, Running(), force=True)
            # Each of the first two runs a subflow in its process (a task of it started the subflow run).
            subflows = [_subflow(client, parent) for parent in running[:2]]
            # The sweeper's clock, ten minutes on (the server stamps states with its own time).
            now = datetime.now(UTC) + timedelta(minutes=10)
            _heartbeat(api, running[0], now - timedelta(minutes=5))  # its machine died five minutes ago
            for run_id in running[1:]:
                _heartbeat(api, run_id, now - timedelta(seconds=10))

            def persisted() -> bool:  # the server stores events a moment after taking them
                found = httpx.post(f"{api}/events/filter", json={"filter": {
                    "occurred": {"until": (now + timedelta(minutes=1)).isoformat()},
                    "event": {"name": ["prefect.flow-run.heartbeat"]}}, "limit": 50}, timeout=10).json()
                return len(found["events"]) == 4

            wait_for("the heartbeats to be stored", persisted, 60)
            full = client.get_scheduled_flow_runs_for_work_pool("bantin", work_queue_names=["production"])
            assert full == []  # four runs hold the queue's four slots: the fifth waits

            result = sweep(now=now)

            assert result["runs"] == {"retried": [running[0]], "crashed": [], "children": [subflows[0]]}
            # The lost run's subflow went with its process; the live run's subflow is left running.
            assert [client.read_flow_run(r).state.type.value for r in subflows] == ["CRASHED", "RUNNING"]
            states = [(s.type.value, s.name) for s in client.read_flow_run_states(running[0])]
            assert states[-2:] == [("CRASHED", "Crashed"), ("SCHEDULED", "AwaitingRetry")]
            assert [client.read_flow_run(r).state.type.value for r in running[1:]] == ["RUNNING"] * 3
            # The freed slot goes to the run that was waiting first; the crashed one waits behind it.
            given = client.get_scheduled_flow_runs_for_work_pool("bantin", work_queue_names=["production"])
            assert [str(r.flow_run.id) for r in given] == [waiting]
            retried = client.read_flow_run(running[0])
            assert (retried.parameters, sorted(retried.tags)) == \
                ({"draft_id": 1}, ["bantin", "queue:production", "user:demo-editor"])
