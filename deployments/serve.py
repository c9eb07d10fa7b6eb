"""Serve every bantin flow from one long-running process (``python -m deployments.serve``).

Needs a Prefect server (``PREFECT_API_URL``; ``bantin serve`` starts one when none is set). Registers the
deployments (the same names as deployments/prefect.yaml), creates the ``bantin-ml`` global concurrency
limit, and runs flow runs as subprocesses: the scheduled ones (publish-due every minute, programs every
``BANTIN_PROGRAM_BUILD_INTERVAL_S``) and those triggered from the Prefect UI, ``prefect deployment run`` or
the web app (``BANTIN_USE_DEPLOYMENTS=true``). Stop it (SIGTERM or Ctrl-C) before stopping the server: a
runner whose server is gone ignores SIGTERM.
"""

import argparse
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from settings import Settings, configure_prefect_env, get_settings

log = logging.getLogger("bantin.serve")
PROGRAM_ANCHOR = datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def _one_at_a_time() -> Any:
    """Scheduled sweeps must not overlap (two program builds would race for the same editions): a run that
    comes due while the previous one is still going is cancelled; the next one catches up."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def _produce(s: Settings) -> Any:
    from flows.produce import produce_package

    return produce_package.to_deployment(name="produce", tags=["bantin"])


def _transcribe(s: Settings) -> Any:
    from flows.transcribe import transcribe_draft

    return transcribe_draft.to_deployment(name="transcribe", tags=["bantin", "ml"])


def _publish(s: Settings) -> Any:
    from flows.publish import publish_package

    return publish_package.to_deployment(name="publish", tags=["bantin"])


def _retract(s: Settings) -> Any:
    from flows.publish import retract_package

    return retract_package.to_deployment(name="retract", tags=["bantin"])


def _due(s: Settings) -> Any:
    from prefect.schedules import Cron

    from flows.publish import publish_due

    return publish_due.to_deployment(name="due", tags=["bantin"], concurrency_limit=_one_at_a_time(),
                                     schedules=[Cron("* * * * *", timezone="Asia/Ho_Chi_Minh")])


def _program(s: Settings) -> Any:
    from prefect.schedules import Interval

    from flows.program import build_programs

    # A fixed anchor puts runs on interval boundaries (:00, :15, … for 900 s, as the cron in prefect.yaml), so
    # the first run comes within one interval of start-up and a restart does not shift the schedule.
    every = Interval(timedelta(seconds=s.program_build_interval_s), anchor_date=PROGRAM_ANCHOR,
                     timezone="Asia/Ho_Chi_Minh")
    return build_programs.to_deployment(name="program", tags=["bantin"], schedules=[every],
                                        concurrency_limit=_one_at_a_time())


def _emergency(s: Settings) -> Any:
    from flows.emergency import broadcast_emergency

    return broadcast_emergency.to_deployment(name="emergency", tags=["bantin", "emergency"])


def _archive_ingest(s: Settings) -> Any:
    from flows.archive import ingest_recordings

    return ingest_recordings.to_deployment(name="archive-ingest", tags=["bantin", "ml"])


def _archive_reindex(s: Settings) -> Any:
    from flows.archive import reindex_archive

    return reindex_archive.to_deployment(name="archive-reindex", tags=["bantin"])


def _reports(s: Settings) -> Any:
    from prefect.schedules import Interval

    from flows.reports import maintain_reports

    every = Interval(timedelta(seconds=s.reports_interval_s), anchor_date=PROGRAM_ANCHOR, timezone="Asia/Ho_Chi_Minh")
    return maintain_reports.to_deployment(name="reports", tags=["bantin"], schedules=[every],
                                          concurrency_limit=_one_at_a_time())


DEPLOYMENTS: dict[str, Callable[[Settings], Any]] = {
    "produce": _produce, "transcribe": _transcribe, "publish": _publish, "retract": _retract, "due": _due,
    "program": _program, "emergency": _emergency, "archive-ingest": _archive_ingest,
    "archive-reindex": _archive_reindex, "reports": _reports,
}


def build_deployments(settings: Settings, only: list[str] | None = None) -> list[Any]:
    """The runner deployments to serve (all, or the names in ``only``).

    Raises:
        ValueError: an unknown name in ``only``.
    """
    names = only or list(DEPLOYMENTS)
    unknown = sorted(set(names) - set(DEPLOYMENTS))
    if unknown:
        raise ValueError(f"unknown deployment(s) {', '.join(unknown)} (known: {', '.join(DEPLOYMENTS)})")
    return [DEPLOYMENTS[name](settings) for name in names]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve bantin's flows (needs PREFECT_API_URL).")
    parser.add_argument("--only", action="append", metavar="NAME", choices=sorted(DEPLOYMENTS),
                        help="serve only this deployment (repeatable); default: all")
    parser.add_argument("--limit", type=int, default=None, help="at most this many concurrent flow runs")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_prefect_env(settings)
    from prefect import serve

    from deployments.setup import ensure_ml_limit

    try:
        ensure_ml_limit(settings.ml_concurrency)
    except Exception as exc:  # an old server without global limits: ML tasks then run unthrottled
        log.warning("could not create the bantin-ml concurrency limit: %s", exc)
    serve(*build_deployments(settings, args.only), limit=args.limit)


if __name__ == "__main__":
    main()
