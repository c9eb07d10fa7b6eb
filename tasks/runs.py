"""Starting flow runs on the work pool: the one way the web app, the API, the CLI and the sweeper start work
when a Prefect server runs (``PREFECT_API_URL``).

Every deployment sits on the process work pool ``bantin`` in one of five queues, polled by workers in
priority order: ``emergency`` (emergency pushes, retractions), ``publishing`` (publishes, due sweeps, the
crash sweeper), ``production`` (produce, transcribe, programmes) and ``archive`` (ingest, reindex); ``relay``
(relay airings, each as long as its slot) is taken by a worker of its own. An
emergency never waits behind a production run. Runs carry a ``user:<name>`` tag so one editor's queued runs
can be counted (and limited) without starving the others.

All calls use Prefect's synchronous client: they are safe from a thread of the web app's threadpool (never
call them on the event loop, where Prefect's dual sync/async helpers return coroutines).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    DeploymentSpec("sweep", "sweep", "flows/sweep.py:sweep", "publishing"),
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
    spec = DEPLOYMENTS[name]
    tags = ["bantin", f"queue:{spec.queue}"] + ([user_tag(username)] if username else [])
    with _client() as client:
        deployment = client.read_deployment_by_name(spec.key)
        run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters, tags=tags)
    return str(run.id)


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
    with _client() as client:
        return int(client.count_flow_runs(flow_run_filter=flt))


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
