"""Flow runs whose worker is gone (a machine crash, a killed worker): found by their heartbeats, crashed and
queued again; and the subflow runs they (or any run that ended) left "running" behind, crashed.

Every flow run sends a heartbeat event every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` (30 s, set by every bantin
entry point). The sweeper (:func:`tasks.sweeping.lost_runs`, every ``due`` run) asks the server once per sweep
for the latest heartbeat of every active run of the ``bantin`` pool (the events API's count by resource,
whose groups carry their latest time), not once per run.

A subflow runs in its parent's process: when the parent's process is gone, nobody reports the subflow's end
either. A subflow (a child run without a deployment) still pending or running while its parent is no longer
active, or is active again since (an earlier attempt's child), is crashed: the parent's retry runs its own.
Child runs of a deployment (started by a parent on the work pool) have workers of their own and are judged by
their heartbeats like any pool run.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tasks.runs import FINAL_STATES, POOL

HEARTBEAT = "prefect.flow-run.heartbeat"  # what Prefect's flow engine emits every PREFECT_FLOWS_HEARTBEAT_FREQUENCY
LOST = "its worker stopped sending heartbeats (the machine or process is gone); marked crashed by the sweeper"
RETRIED = "queued again by the sweeper after its worker was lost"
ORPHANED = "its parent flow run is no longer running this attempt (its process is gone); marked crashed by the sweeper"
MAX_CRASH_RETRIES = 2  # a run that took its machine down this many times stays crashed (a poison run)
_ACTIVE_STATES = ("RUNNING", "PENDING")
_BEAT_SLACK = timedelta(seconds=30)  # the first heartbeat may precede the running state by a moment
_HORIZON = timedelta(days=365)  # heartbeats looked for at most this far back (the count's bucket limit)


@dataclass(frozen=True)
class ActiveRun:
    """A flow run on the work pool that a worker took (pending) or runs (running), as the sweeper sees it."""

    id: str
    name: str
    state_type: str  # "RUNNING" or "PENDING"
    since: datetime  # when it entered that state
    last_heartbeat: datetime | None  # its latest heartbeat in that state (None: none seen)
    auto_scheduled: bool  # started by its deployment's schedule (the next scheduled run does its work)


def is_lost(run: ActiveRun, now: datetime, *, lease_s: float, silent_s: float) -> bool:
    """Whether ``run``'s worker is gone: no heartbeat for ``lease_s``; a pending run (no heartbeat yet: a worker
    moves it to running within seconds) pending for ``lease_s``; a running run that never sent one (its worker
    runs without heartbeats) running for ``silent_s``."""
    if run.last_heartbeat is not None:
        return now - max(run.last_heartbeat, run.since) > timedelta(seconds=lease_s)
    return now - run.since > timedelta(seconds=lease_s if run.state_type == "PENDING" else silent_s)


def _active() -> Any:
    from prefect.client.schemas.filters import FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    return FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType[s] for s in _ACTIVE_STATES]))


def _read_all(client: Any, **filters: Any) -> list[Any]:
    runs: list[Any] = []
    while True:  # pages of the server's largest page (200)
        page = client.read_flow_runs(**filters, limit=200, offset=len(runs))
        runs += page
        if len(page) < 200:
            return runs


def active_runs(client: Any, now: datetime) -> list[ActiveRun]:
    """The pending and running flow runs of the ``bantin`` pool, each with its latest heartbeat."""
    from prefect.client.schemas.filters import FlowRunFilter, WorkPoolFilter, WorkPoolFilterName

    runs = [r for r in _read_all(client, flow_run_filter=FlowRunFilter(state=_active()),
                                 work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[POOL])))
            if r.state is not None and r.state.type.value in _ACTIVE_STATES]
    beats = last_heartbeats(client, {str(r.id): r.state.timestamp for r in runs}, now)
    return [ActiveRun(id=str(r.id), name=r.name, state_type=r.state.type.value, since=r.state.timestamp,
                      last_heartbeat=beats.get(str(r.id)), auto_scheduled=bool(r.auto_scheduled)) for r in runs]


def last_heartbeats(client: Any, since: dict[str, datetime], now: datetime) -> dict[str, datetime]:
    """The time of each run's latest heartbeat between its ``since`` (less :data:`_BEAT_SLACK`) and ``now``, for
    the runs that sent one: one request for them all (events counted by resource, each group with its latest
    time; a group's latest before the run's own window means none in it)."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    if not since:
        return {}
    start = max(min(since.values()) - _BEAT_SLACK, now - _HORIZON)
    flt = EventFilter(occurred=EventOccurredFilter.model_validate({"since": start, "until": now}),
                      event=EventNameFilter(name=[HEARTBEAT]),
                      resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}" for run_id in since]))
    resp = client.request("POST", "/events/count-by/{countable}", path_params={"countable": "resource"},
                          json={"filter": flt.model_dump(mode="json"), "time_unit": "day", "time_interval": 1.0})
    resp.raise_for_status()
    found = {}
    for group in resp.json():
        run_id = str(group["value"]).removeprefix("prefect.flow-run.")
        latest = datetime.fromisoformat(str(group["end_time"]).replace("Z", "+00:00"))
        if run_id in since and latest >= since[run_id] - _BEAT_SLACK:
            found[run_id] = latest
    return found


@dataclass(frozen=True)
class Recovered:
    retried: list[str]  # ids of runs crashed and queued again
    crashed: list[str]  # ids of runs crashed only: scheduled ones (their next run does the work) and poison runs
    children: list[str]  # ids of subflow runs crashed because their parent's attempt is over


def recover_lost_runs(client: Any, now: datetime, *, lease_s: float, silent_s: float,
                      max_retries: int = MAX_CRASH_RETRIES) -> Recovered:
    """Mark crashed the pool's runs whose worker is gone (:func:`is_lost`), which frees the concurrency slots
    they held (their queue's, their deployment's), and queue each again (the same run, ``AwaitingRetry``, so
    its tags and parameters stay; bantin's tasks are idempotent, so it resumes) unless its schedule starts the
    next one anyway or it was lost ``max_retries`` times already. Then crash the subflow runs left behind
    (:func:`orphaned_children`).

    Returns:
        The runs retried, the runs left crashed, the subflow runs crashed.
    """
    from prefect.client.schemas.objects import StateType
    from prefect.states import AwaitingRetry, Crashed

    retried, crashed = [], []
    for run in active_runs(client, now):
        if not is_lost(run, now, lease_s=lease_s, silent_s=silent_s):
            continue
        client.set_flow_run_state(run.id, Crashed(message=LOST), force=True)
        crashes = sum(s.type == StateType.CRASHED for s in client.read_flow_run_states(run.id))
        if run.auto_scheduled or crashes > max_retries:
            crashed.append(run.id)
            continue
        client.set_flow_run_state(run.id, AwaitingRetry(scheduled_time=now, message=RETRIED), force=True)
        retried.append(run.id)
    return Recovered(retried=retried, crashed=crashed, children=orphaned_children(client))


def orphaned_children(client: Any, max_depth: int = 5) -> list[str]:
    """Crash the pending and running subflow runs (no deployment: they ran in their parent's process) whose
    parent flow run is no longer pending or running, or entered its current state after them (an earlier
    attempt's child, left behind when that attempt's process died); then their own children, down to
    ``max_depth`` levels.

    Returns:
        The ids of the runs crashed.
    """
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterId,
        FlowRunFilterParentTaskRunId,
        TaskRunFilter,
        TaskRunFilterId,
    )
    from prefect.states import Crashed

    crashed: list[str] = []
    for _ in range(max_depth):
        children = [r for r in _read_all(client, flow_run_filter=FlowRunFilter(
            state=_active(), parent_task_run_id=FlowRunFilterParentTaskRunId(is_null_=False),
            deployment_id=FlowRunFilterDeploymentId(is_null_=True)))
            if r.state is not None and r.parent_task_run_id is not None and str(r.id) not in crashed]
        if not children:
            break
        tasks = client.read_task_runs(task_run_filter=TaskRunFilter(id=TaskRunFilterId(
            any_=list({r.parent_task_run_id for r in children}))))
        parent_of = {t.id: t.flow_run_id for t in tasks}
        parents = {p.id: p for p in _read_all(client, flow_run_filter=FlowRunFilter(id=FlowRunFilterId(
            any_=list({f for f in parent_of.values() if f is not None}))))}
        found = [r for r in children if _orphaned(r, parents.get(parent_of.get(r.parent_task_run_id)))]
        for run in found:
            client.set_flow_run_state(run.id, Crashed(message=ORPHANED), force=True)
            crashed.append(str(run.id))
        if not found:
            break
    return crashed


def _orphaned(child: Any, parent: Any) -> bool:
    """Whether ``child`` (pending or running) outlived its parent's attempt; False while that cannot be told
    (the parent's task run or flow run not found: deleted runs are Prefect's to clean up)."""
    if parent is None or parent.state is None:
        return False
    kind = parent.state.type.value
    if kind in FINAL_STATES or kind == "SCHEDULED":
        return True
    return kind in _ACTIVE_STATES and parent.state.timestamp > child.state.timestamp
