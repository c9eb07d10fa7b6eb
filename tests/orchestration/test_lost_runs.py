"""Flow runs whose machine died (a whole-machine crash leaves them "running" on the Prefect server, holding
their queue's concurrency slots): the sweeper finds them by their missing heartbeats (one request for every
run's latest), marks them crashed and queues them again, and crashes the subflow runs their lost attempts
left running (tasks/lost_runs.py). A fake Prefect client and an injected clock; the real server is in
test_lost_runs_server.py."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid5

from prefect.client.schemas.objects import StateType

from tasks.lost_runs import LOST, ORPHANED, RETRIED, recover_lost_runs

NOW = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
TASK_IDS, RUN_IDS = UUID(int=1), UUID(int=2)  # namespaces of the fake's task run and parent flow run ids


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 12, 7, hh, mm, ss, tzinfo=UTC)


@dataclass
class FakeRun:
    id: str
    name: str
    state_type: str
    since: datetime
    heartbeats: list[datetime] = field(default_factory=list)
    auto_scheduled: bool = False
    crashes_before: int = 0
    parent: str | None = None  # the flow run whose task started this one (a subflow or a deployment child)
    deployment: bool = True  # a run of a deployment (on the pool); False: a subflow in its parent's process


class FakeClient:
    """What recover_lost_runs asks of Prefect's synchronous client, over a list of runs."""

    def __init__(self, runs: list[FakeRun]) -> None:
        self.runs = {r.id: r for r in runs}
        self.set: list[tuple[str, str, str, bool]] = []  # (run, state type, state name, force)
        self.history: dict[str, list[StateType]] = {r.id: [StateType.CRASHED] * r.crashes_before for r in runs}
        self.heartbeat_requests = 0

    def _view(self, r: FakeRun, as_id: Any = None) -> Any:
        return SimpleNamespace(id=as_id or r.id, name=r.name, auto_scheduled=r.auto_scheduled,
                               parent_task_run_id=uuid5(TASK_IDS, r.parent) if r.parent else None,
                               state=SimpleNamespace(type=StateType(r.state_type), timestamp=r.since))

    def read_flow_runs(self, **kwargs: Any) -> list[Any]:
        flt = kwargs["flow_run_filter"]
        if kwargs["offset"]:
            return []
        if flt.id is not None:  # the parents of subflow runs (Prefect's ids are UUIDs)
            names = {uuid5(RUN_IDS, name): name for name in self.runs}
            return [self._view(self.runs[names[i]], as_id=i) for i in flt.id.any_ if i in names]
        assert flt.state.type.any_ == [StateType.RUNNING, StateType.PENDING]
        active = [r for r in self.runs.values() if r.state_type in ("RUNNING", "PENDING")]
        if flt.parent_task_run_id is not None:  # subflow runs: a parent, no deployment
            assert flt.parent_task_run_id.is_null_ is False and flt.deployment_id.is_null_ is True
            return [self._view(r) for r in active if r.parent and not r.deployment]
        assert kwargs["work_pool_filter"].name.any_ == ["bantin"]
        return [self._view(r) for r in active if r.deployment]

    def read_task_runs(self, task_run_filter: Any) -> list[Any]:
        """The task runs that started subflow runs, each in its flow run (the subflow's parent)."""
        names = {uuid5(TASK_IDS, name): name for name in self.runs}
        return [SimpleNamespace(id=t, flow_run_id=uuid5(RUN_IDS, names[t])) for t in task_run_filter.id.any_]

    def request(self, method: str, path: str, path_params: dict[str, str], json: dict[str, Any]) -> Any:
        """The events API's count by resource: one group (with its latest time) per run that beat."""
        assert (method, path, path_params) == ("POST", "/events/count-by/{countable}", {"countable": "resource"})
        self.heartbeat_requests += 1
        flt = json["filter"]
        assert flt["event"]["name"] == ["prefect.flow-run.heartbeat"]
        since, until = (datetime.fromisoformat(flt["occurred"][k]) for k in ("since", "until"))
        groups = []
        for resource in flt["resource"]["id"]:
            beats = [t for t in self.runs[resource.removeprefix("prefect.flow-run.")].heartbeats if since <= t <= until]
            if beats:
                groups.append({"value": resource, "label": resource, "count": len(beats),
                               "start_time": min(beats).isoformat(), "end_time": max(beats).isoformat()})
        return SimpleNamespace(json=lambda: _roundtrip(groups), raise_for_status=lambda: None)

    def set_flow_run_state(self, run_id: str, state: Any, force: bool = False) -> None:
        self.set.append((run_id, state.type.value, state.name, force))
        self.history[run_id].append(state.type)
        self.runs[run_id].state_type, self.runs[run_id].since = state.type.value, NOW
        if state.type == StateType.SCHEDULED:
            assert state.state_details.scheduled_time == NOW and state.message == RETRIED
        else:
            assert state.message == (ORPHANED if not self.runs[run_id].deployment else LOST)

    def read_flow_run_states(self, run_id: str) -> list[Any]:
        return [SimpleNamespace(type=t) for t in self.history[run_id]]


def _roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_runs_without_heartbeats_past_the_lease_are_crashed_and_queued_again() -> None:
    client = FakeClient([
        FakeRun("a", "produce-draft-1", "RUNNING", at(9, 50), [at(9, 50, 5), at(9, 56, 59)]),  # silent 181 s
        FakeRun("b", "produce-draft-2", "RUNNING", at(9, 50), [at(9, 50, 5), at(9, 59, 30)]),  # beat 30 s ago
        FakeRun("c", "publish-package-4", "PENDING", at(9, 57, 29)),  # taken 151 s ago, never started
        FakeRun("d", "publish-package-5", "PENDING", at(9, 58)),  # taken 120 s ago: its worker is starting it
        FakeRun("e", "transcribe-draft-3", "RUNNING", at(9, 0)),  # no heartbeats at all, 1 h: a silent worker
        FakeRun("f", "relay-7-2026-12-07", "RUNNING", at(3, 59)),  # no heartbeats, 6 h 1 min
        # Queued again a minute ago after a crash: the old attempt's heartbeats (9:50) do not count.
        FakeRun("g", "produce-draft-6", "RUNNING", at(9, 59), [at(9, 50)], crashes_before=1),
    ])

    found = recover_lost_runs(client, NOW, lease_s=150, silent_s=21600)

    assert found.retried == ["a", "c", "f"]  # produce-draft-1, publish-package-4, relay-7-2026-12-07
    assert found.crashed == []
    assert client.heartbeat_requests == 1  # the seven runs' latest heartbeats in one request
    assert client.set == [("a", "CRASHED", "Crashed", True), ("a", "SCHEDULED", "AwaitingRetry", True),
                          ("c", "CRASHED", "Crashed", True), ("c", "SCHEDULED", "AwaitingRetry", True),
                          ("f", "CRASHED", "Crashed", True), ("f", "SCHEDULED", "AwaitingRetry", True)]


def test_scheduled_runs_and_runs_lost_three_times_stay_crashed() -> None:
    client = FakeClient([
        FakeRun("p", "build-programs", "RUNNING", at(9, 40), [at(9, 45)], auto_scheduled=True),
        FakeRun("q", "produce-draft-8", "RUNNING", at(9, 40), [at(9, 45)], crashes_before=2),
        FakeRun("r", "produce-draft-9", "RUNNING", at(9, 40), [at(9, 45)], crashes_before=1),
    ])

    found = recover_lost_runs(client, NOW, lease_s=150, silent_s=21600)

    assert found.crashed == ["p", "q"]  # build-programs: its schedule runs it again; a poison run
    assert found.retried == ["r"]  # its second loss
    assert client.set == [("p", "CRASHED", "Crashed", True), ("q", "CRASHED", "Crashed", True),
                          ("r", "CRASHED", "Crashed", True), ("r", "SCHEDULED", "AwaitingRetry", True)]


def test_a_run_beating_within_the_lease_is_left_alone_however_long_it_runs() -> None:
    client = FakeClient([FakeRun("s", "archive-ingest", "RUNNING", at(1, 0), [at(9, 57, 31)])])  # 149 s ago

    found = recover_lost_runs(client, NOW, lease_s=150, silent_s=21600)

    assert (found.retried, found.crashed, client.set) == ([], [], [])


def test_the_subflow_runs_of_a_lost_run_are_crashed_with_theirs_but_not_its_deployment_children() -> None:
    client = FakeClient([
        FakeRun("a", "publish-due", "RUNNING", at(9, 50), [at(9, 50, 5), at(9, 56)]),  # lost: silent 4 min
        FakeRun("a1", "sweep", "RUNNING", at(9, 55), parent="a", deployment=False),  # ran in a's process
        FakeRun("a2", "sweep-streams", "PENDING", at(9, 55, 30), parent="a1", deployment=False),  # a1's subflow
        FakeRun("a3", "sweep", "COMPLETED", at(9, 51), parent="a", deployment=False),  # over before the crash
        # Started by a on the pool: a worker of its own runs it, and it still beats.
        FakeRun("d", "publish-package-9", "RUNNING", at(9, 55), [at(9, 59, 40)], parent="a"),
    ])

    found = recover_lost_runs(client, NOW, lease_s=150, silent_s=21600)

    assert (found.retried, found.crashed, found.children) == (["a"], [], ["a1", "a2"])
    assert client.set == [("a", "CRASHED", "Crashed", True), ("a", "SCHEDULED", "AwaitingRetry", True),
                          ("a1", "CRASHED", "Crashed", True), ("a2", "CRASHED", "Crashed", True)]
    assert (client.runs["a3"].state_type, client.runs["d"].state_type) == ("COMPLETED", "RUNNING")


def test_subflow_runs_outliving_their_parents_attempt_are_crashed_and_live_ones_left_alone() -> None:
    client = FakeClient([
        # Crashed by its worker (the process exited): its subflow was left running.
        FakeRun("p", "produce-draft-3", "CRASHED", at(9, 40)),
        FakeRun("p1", "translate-variant", "RUNNING", at(9, 41), parent="p", deployment=False),
        # Running again since 9:58 (queued again after a crash): the 9:45 subflow is the earlier attempt's.
        FakeRun("q", "produce-draft-4", "RUNNING", at(9, 58), [at(9, 59, 50)]),
        FakeRun("q1", "translate-variant", "RUNNING", at(9, 45), parent="q", deployment=False),
        FakeRun("q2", "translate-variant", "RUNNING", at(9, 58, 30), parent="q", deployment=False),  # this attempt's
        FakeRun("r", "publish-due", "COMPLETED", at(9, 59)),
        FakeRun("r1", "sweep", "RUNNING", at(9, 58), parent="r", deployment=False),
        FakeRun("s", "publish-due", "RUNNING", at(9, 59, 30), [at(9, 59, 31)]),
        FakeRun("s1", "sweep", "RUNNING", at(9, 59, 50), parent="s", deployment=False),  # the sweep running now
    ])

    found = recover_lost_runs(client, NOW, lease_s=150, silent_s=21600)

    assert (found.retried, found.crashed, found.children) == ([], [], ["p1", "q1", "r1"])
    assert [client.runs[r].state_type for r in ("q", "q2", "s", "s1")] == ["RUNNING"] * 4
