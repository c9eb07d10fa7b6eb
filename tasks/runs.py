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
