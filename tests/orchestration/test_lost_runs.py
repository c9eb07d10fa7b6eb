"""Flow runs whose machine died (a whole-machine crash leaves them "running" on the Prefect server, holding
their queue's concurrency slots): the sweeper finds them by their missing heartbeats, marks them crashed and
queues them again (tasks/runs.py). A fake Prefect client and an injected clock; the real server is in
test_lost_runs_server.py."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from prefect.client.schemas.objects import StateType

from tasks.runs import LOST, RETRIED, recover_lost_runs

NOW = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)


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


class FakeClient:
    """What recover_lost_runs asks of Prefect's synchronous client, over a list of runs."""

    def __init__(self, runs: list[FakeRun]) -> None:
        self.runs = {r.id: r for r in runs}
        self.set: list[tuple[str, str, str, bool]] = []  # (run, state type, state name, force)
        self.history: dict[str, list[StateType]] = {r.id: [StateType.CRASHED] * r.crashes_before for r in runs}

    def read_flow_runs(self, **kwargs: Any) -> list[Any]:
        assert kwargs["work_pool_filter"].name.any_ == ["bantin"]
        assert kwargs["flow_run_filter"].state.type.any_ == [StateType.RUNNING, StateType.PENDING]
        if kwargs["offset"]:
            return []
        return [SimpleNamespace(id=r.id, name=r.name, auto_scheduled=r.auto_scheduled,
                                state=SimpleNamespace(type=StateType(r.state_type), timestamp=r.since))
                for r in self.runs.values()]

    def read_events(self, flt: Any, limit: int) -> Any:
        (resource,) = flt.resource.id
        run = self.runs[resource.removeprefix("prefect.flow-run.")]
        assert flt.event.name == ["prefect.flow-run.heartbeat"]
        found = sorted((t for t in run.heartbeats if flt.occurred.since <= t <= flt.occurred.until), reverse=True)
        return SimpleNamespace(events=[SimpleNamespace(occurred=t) for t in found[:limit]])

    def set_flow_run_state(self, run_id: str, state: Any, force: bool = False) -> None:
        self.set.append((run_id, state.type.value, state.name, force))
        self.history[run_id].append(state.type)
        if state.type == StateType.SCHEDULED:
            assert state.state_details.scheduled_time == NOW and state.message == RETRIED
        else:
            assert state.message == LOST

    def read_flow_run_states(self, run_id: str) -> list[Any]:
        return [SimpleNamespace(type=t) for t in self.history[run_id]]


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
