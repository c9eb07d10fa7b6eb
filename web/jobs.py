"""Starting flows from the web app and the API: always as Prefect flow runs of bantin's deployments on the
work pool (``tasks.runs``), so a run survives a restart of the web app, shows in the Prefect UI, and waits in
its priority queue (an emergency never waits behind production). ``bantin serve`` starts the Prefect server
and a worker; in production, workers run on other machines (docs/deployment.md).

One editor cannot starve the others: production runs (produce, transcribe) are refused with 429 once the
user has ``BANTIN_MAX_QUEUED_RUNS_PER_USER`` runs waiting. Publications and retractions are never refused.

Every call is synchronous (Prefect's sync client); from an ``async`` handler use :func:`start` (it runs the
call in the threadpool: Prefect's dual helpers would return an un-awaited coroutine on the event loop).
"""

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from domain.errors import DomainError
from settings import Settings, configure_prefect_env

log = logging.getLogger(__name__)
LIMITED = frozenset({"produce", "transcribe", "revise"})  # production work counts against the per-user limit


class RunRefused(DomainError):
    """The run was not started; ``key`` names the message shown to the user (web.i18n), ``status`` the HTTP
    status (429: too many waiting runs of this user; 503: no Prefect server)."""

    def __init__(self, key: str, status: int, detail: str) -> None:
        super().__init__(detail)
        self.key = key
        self.status = status


class FlowStarter:
    def __init__(self, settings: Settings) -> None:
        configure_prefect_env(settings)
        self.max_queued = settings.max_queued_runs_per_user

    def produce(self, draft_id: int, user: str = "") -> str:
        return self.start("produce", {"draft_id": draft_id}, user)

    def revise(self, package_id: int, language: str, user: str = "") -> str:
        """Re-speak and re-render the one variant a person changed (services.variant_edits)."""
        return self.start("revise", {"package_id": package_id, "language": language}, user)

    def publish(self, package_id: int, user: str = "") -> str:
        return self.start("publish", {"package_id": package_id}, user)

    def transcribe_feedback(self, feedback_id: int, user: str = "") -> str:
        """Whisper's transcript of a citizen's voice message, for the officer (flows.feedback)."""
        return self.start("transcribe-feedback-voice", {"feedback_id": feedback_id}, user)

    def retract(self, package_id: int, user: str = "") -> str:
        """Tell devices (MQTT stop for emergencies) and destinations about a withdrawal or kill."""
        return self.start("retract", {"package_id": package_id}, user)

    def start(self, deployment: str, params: dict[str, Any], user: str = "") -> str:
        """Queue a run of ``deployment``; returns its flow run id.

        Raises:
            RunRefused: the user has too many production runs waiting (429), or no Prefect server answers (503).
        """
        from tasks.runs import queued_runs, server_configured, start_deployment

        if not server_configured():
            raise RunRefused("runs_unavailable", 503, "no Prefect server configured (PREFECT_API_URL)")
        try:
            if user and deployment in LIMITED and queued_runs(user) >= self.max_queued:
                raise RunRefused("too_many_runs", 429, f"{user} has {self.max_queued} runs waiting")
            return start_deployment(deployment, params, username=user)
        except RunRefused:
            raise
        except Exception as exc:  # server down, deployment missing: the request's own work is kept
            log.exception("could not start %s %s", deployment, params)
            raise RunRefused("runs_unavailable", 503, f"could not start {deployment}: {exc}") from exc

    def shutdown(self) -> None:
        """Nothing runs in this process: queued runs live on the Prefect server."""


async def start(request: Request, which: str, arg: int, user: str = "") -> Any:
    """Start a flow from an ``async`` handler, off the event loop."""
    method = getattr(request.app.state.flows, which)
    if user:
        return await run_in_threadpool(method, arg, user)
    return await run_in_threadpool(method, arg)
