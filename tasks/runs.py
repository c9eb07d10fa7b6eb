"""Starting flow runs on the work pool: the one way the web app, the API, the CLI and the sweeper start work
when a Prefect server runs (``PREFECT_API_URL``).

Every deployment sits on the process work pool ``bantin`` in one of five queues, polled by workers in
priority order: ``emergency`` (emergency pushes, retractions), ``publishing`` (publishes, relay starts; the
per-minute due run, which also sweeps for crashed work), ``production`` (produce, transcribe, programmes) and
``archive`` (ingest, reindex); ``relay`` (relay airings, each as long as its slot) is taken by a worker of its
own. An emergency never waits behind a production run. Runs carry a ``user:<name>`` tag so one editor's queued
runs can be counted (and limited) without starving the others.

All calls use Prefect's synchronous client: they are safe from a thread of the web app's threadpool (never
call them on the event loop, where Prefect's dual sync/async helpers return coroutines).
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

POOL = "bantin"
# (queue, priority): lower number is polled first; concurrency limit per queue (None: unlimited).
QUEUES: tuple[tuple[str, int, int | None], ...] = (
    ("emergency", 1, None), ("publishing", 2, None), ("production", 3, 4), ("archive", 4, 1), ("relay", 5, None),
)
# Relay airings hold a run for a slot's whole length: a worker of their own takes them (``deployments.serve``
# runs one beside the main worker), so they never fill the slots an emergency needs.
RELAY_QUEUE = "relay"


@dataclass(frozen=True)
class DeploymentSpec:
    name: str  # deployment name
    flow: str  # flow name (Prefect's deployment key is "<flow>/<name>")
    entrypoint: str
    queue: str

    @property
    def key(self) -> str:
        return f"{self.flow}/{self.name}"


DEPLOYMENTS: dict[str, DeploymentSpec] = {d.name: d for d in (
    DeploymentSpec("emergency", "broadcast-emergency", "flows/emergency.py:broadcast_emergency", "emergency"),
    DeploymentSpec("retract", "retract-package", "flows/publish.py:retract_package", "emergency"),
    DeploymentSpec("publish", "publish-package", "flows/publish.py:publish_package", "publishing"),
    DeploymentSpec("due", "publish-due", "flows/publish.py:publish_due", "publishing"),
    DeploymentSpec("produce", "produce-package", "flows/produce.py:produce_package", "production"),
    DeploymentSpec("revise", "revise-variant", "flows/revise.py:revise_variant", "production"),
    DeploymentSpec("transcribe", "transcribe-draft", "flows/transcribe.py:transcribe_draft", "production"),
    DeploymentSpec("program", "build-programs", "flows/program.py:build_programs", "production"),
    DeploymentSpec("archive-ingest", "archive-ingest", "flows/archive.py:ingest_recordings", "archive"),
    DeploymentSpec("archive-reindex", "archive-reindex", "flows/archive.py:reindex_archive", "archive"),
    DeploymentSpec("reports", "maintain-reports", "flows/reports.py:maintain_reports", "archive"),
    DeploymentSpec("transcribe-feedback-voice", "transcribe-feedback-voice", "flows/feedback.py:transcribe_feedback",
                   "production"),
    DeploymentSpec("erase-feedback-contacts", "erase-feedback-contacts",
                   "flows/feedback.py:erase_expired_feedback_contacts", "archive"),
    DeploymentSpec("relay-due", "relay-due", "flows/relay.py:relay_due", "publishing"),
    DeploymentSpec("relay", "relay-airing", "flows/relay.py:relay_airing", "relay"),
)}

WAITING_STATES = ("SCHEDULED", "PENDING")


def user_tag(username: str) -> str:
    return f"user:{username}"


def start_deployment(name: str, parameters: dict[str, Any], *, username: str = "") -> str:
    """Create a flow run of a bantin deployment on its queue; a worker picks it up (it survives a restart of
    whoever asked for it).

    Returns:
        The flow run id.

    Raises:
        KeyError: not a bantin deployment.
        prefect.exceptions.ObjectNotFound: the deployment is not registered on the server.
    """
    import httpx

    spec = DEPLOYMENTS[name]
    tags = ["bantin", f"queue:{spec.queue}"] + ([user_tag(username)] if username else [])
    client = _kept_client()
    key = (api_url(), spec.key)
    for attempt in range(2):
        if key not in _DEPLOYMENT_IDS:  # one look-up per process and deployment, not one per run
            _DEPLOYMENT_IDS[key] = client.read_deployment_by_name(spec.key).id
        try:
            run = client.create_flow_run_from_deployment(_DEPLOYMENT_IDS[key], parameters=parameters, tags=tags)
            return str(run.id)
        except httpx.HTTPStatusError as exc:  # the deployment was deleted and registered again: a new id
            _DEPLOYMENT_IDS.pop(key, None)
            if exc.response.status_code != 404 or attempt:
                raise
    raise AssertionError("unreachable")


_DEPLOYMENT_IDS: dict[tuple[str, str], Any] = {}  # (API URL, "<flow>/<name>") -> deployment id
_KEPT = threading.local()  # this thread's open clients, by API URL


def _kept_client() -> Any:
    """This thread's long-lived synchronous client for :func:`api_url`: creating a run is then one request on
    an open connection (a new client per run also opens a connection and asks for a CSRF token first)."""
    url = api_url()
    kept: dict[str, Any] = _KEPT.__dict__.setdefault("clients", {})
    if url not in kept:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: url}):
            kept[url] = get_client(sync_client=True).__enter__()
    return kept[url]


def queued_runs(username: str) -> int:
    """How many flow runs ``username`` started that no worker has picked up yet (scheduled or pending)."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    flt = FlowRunFilter(tags=FlowRunFilterTags(all_=[user_tag(username)]),
                        state=FlowRunFilterState(type=FlowRunFilterStateType(
                            any_=[StateType[s] for s in WAITING_STATES])))
    return int(_kept_client().count_flow_runs(flow_run_filter=flt))


def api_url() -> str:
    """The Prefect API to start runs on: ``PREFECT_API_URL`` as the process has it now (a web app's handler
    threads do not see settings contexts entered elsewhere), else Prefect's current setting."""
    from prefect.settings import PREFECT_API_URL

    return os.environ.get("PREFECT_API_URL") or str(PREFECT_API_URL.value() or "")


def server_configured() -> bool:
    """Whether a Prefect server is named (``PREFECT_API_URL``): then runs go to its workers."""
    return bool(api_url())


@contextmanager
def _client() -> Iterator[Any]:
    """Prefect's synchronous client for :func:`api_url` (never a temporary server)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url()}), get_client(sync_client=True) as client:
        yield client


# --- flow runs whose worker is gone (a machine crash): found by their heartbeats, crashed, queued again ---

HEARTBEAT = "prefect.flow-run.heartbeat"  # what Prefect's flow engine emits every PREFECT_FLOWS_HEARTBEAT_FREQUENCY
LOST = "its worker stopped sending heartbeats (the machine or process is gone); marked crashed by the sweeper"
RETRIED = "queued again by the sweeper after its worker was lost"
MAX_CRASH_RETRIES = 2  # a run that took its machine down this many times stays crashed (a poison run)
_ACTIVE_STATES = ("RUNNING", "PENDING")


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


def active_runs(client: Any, now: datetime) -> list[ActiveRun]:
    """The pending and running flow runs of the ``bantin`` pool, each with its latest heartbeat."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.objects import StateType

    flt = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
        any_=[StateType[s] for s in _ACTIVE_STATES])))
    pool = WorkPoolFilter(name=WorkPoolFilterName(any_=[POOL]))
    runs: list[Any] = []
    while True:  # pages of the server's largest page (200)
        page = client.read_flow_runs(flow_run_filter=flt, work_pool_filter=pool, limit=200, offset=len(runs))
        runs += page
        if len(page) < 200:
            break
    found = []
    for run in runs:
        if run.state is None or run.state.type.value not in _ACTIVE_STATES:
            continue
        since = run.state.timestamp
        found.append(ActiveRun(id=str(run.id), name=run.name, state_type=run.state.type.value, since=since,
                               last_heartbeat=last_heartbeat(client, str(run.id), since, now),
                               auto_scheduled=bool(run.auto_scheduled)))
    return found


def last_heartbeat(client: Any, run_id: str, since: datetime, now: datetime) -> datetime | None:
    """The time of the run's latest heartbeat between ``since`` (less one heartbeat interval: the first one
    may precede the running state by a moment) and ``now``, or None."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    page = client.read_events(EventFilter(
        occurred=EventOccurredFilter.model_validate({"since": since - timedelta(seconds=30), "until": now}),
        event=EventNameFilter(name=[HEARTBEAT]),
        resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"])), limit=1)
    return max((e.occurred for e in page.events), default=None)


@dataclass(frozen=True)
class Recovered:
    retried: list[str]  # ids of runs crashed and queued again
    crashed: list[str]  # ids of runs crashed only: scheduled ones (their next run does the work) and poison runs


def recover_lost_runs(client: Any, now: datetime, *, lease_s: float, silent_s: float,
                      max_retries: int = MAX_CRASH_RETRIES) -> Recovered:
    """Mark crashed the pool's runs whose worker is gone (:func:`is_lost`), which frees the concurrency slots
    they held (their queue's, their deployment's), and queue each again (the same run, ``AwaitingRetry``, so
    its tags and parameters stay; bantin's tasks are idempotent, so it resumes) unless its schedule starts the
    next one anyway or it was lost ``max_retries`` times already.

    Returns:
        The runs retried and the runs left crashed.
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
    return Recovered(retried=retried, crashed=crashed)


# --- the CLI hands a run to a running worker (its models loaded) instead of running the flow itself ---

SERVED_WITHIN_S = 30.0  # a queue polled this recently has a worker (bantin's poll every 2 s, Prefect's every 10)
FINAL_STATES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


class RunFailed(Exception):
    """A flow run handed to a worker ended other than completed: an infrastructure outcome (see its message)."""


def queue_served(queue: str, now: datetime | None = None) -> bool:
    """Whether a worker polls ``queue`` of the ``bantin`` pool: it was polled within :data:`SERVED_WITHIN_S`
    and is not paused. False without a server, or when the server cannot say."""
    from datetime import UTC

    if not server_configured():
        return False
    try:
        with _client() as client:
            found = client.read_work_queue_by_name(queue, work_pool_name=POOL)
    except Exception:  # noqa: BLE001 (no pool, no queue, no server: nobody serves it)
        return False
    polled = found.last_polled
    return bool(polled and not found.is_paused and
                (now or datetime.now(UTC)) - polled <= timedelta(seconds=SERVED_WITHIN_S))


def start_if_served(name: str, parameters: dict[str, Any], *, username: str = "") -> str | None:
    """Start a run of deployment ``name`` when a worker serves its queue (:func:`queue_served`) and the
    deployment is registered.

    Returns:
        The flow run id, or None: run the flow in this process instead.
    """
    if not queue_served(DEPLOYMENTS[name].queue):
        return None
    from prefect.exceptions import ObjectNotFound

    try:
        return start_deployment(name, parameters, username=username)
    except ObjectNotFound:  # the server runs, but bantin's deployments are not registered on it
        return None


def wait_for_run(run_id: str, *, poll_s: float = 0.25, sleep: Any = None) -> str:
    """Wait until the flow run ends.

    Returns:
        Its final state's type (``COMPLETED``).

    Raises:
        RunFailed: it failed, crashed or was cancelled (the message names the run and its state's message).
    """
    import time

    sleep = sleep or time.sleep
    with _client() as client:
        while True:
            run = client.read_flow_run(run_id)
            state = run.state
            if state is not None and state.type.value in FINAL_STATES:
                if state.type.value == "COMPLETED":
                    return "COMPLETED"
                raise RunFailed(f"{run.name} {state.name.lower()}: {state.message or 'see the Prefect UI'}")
            sleep(poll_s)
