"""The program flow: plan the coming slots of every program and publish their editions to devices ahead of
time (deployment ``program``, scheduled every ``BANTIN_PROGRAM_BUILD_INTERVAL_S`` seconds)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger

from domain.errors import InvalidInput
from domain.programs import day_window
from settings import get_settings
from tasks.limits import PROGRAM_LIMIT, one_at_a_time
from tasks.production import describe_error
from tasks.programs import build_edition, mark_edition_failed, plan_window


def _window(day: str | None, now: datetime) -> tuple[datetime, datetime]:
    settings = get_settings()
    earliest = now + timedelta(minutes=settings.program_lead_minutes)
    if day is None:
        return earliest, now + timedelta(hours=settings.program_horizon_hours)
    try:
        start, end = day_window(date.fromisoformat(day))
    except ValueError:
        raise InvalidInput(f"'{day}' is not a date (use YYYY-MM-DD)") from None
    return max(start, earliest), end


@flow(name="build-programs", flow_run_name="build-programs", validate_parameters=True)
def build_programs(day: str | None = None, area_code: str | None = None,
                   skip_if_busy: bool = False) -> dict[str, int]:
    """Build and publish the editions of upcoming program slots.

    Without ``day`` it covers the slots starting between now + ``program_lead_minutes`` and now +
    ``program_horizon_hours``; with ``day`` (YYYY-MM-DD, Vietnam calendar) that day's slots. Slots closer
    than the lead time are final and left alone, so devices have them downloaded before airtime. Editions
    whose inputs did not change are skipped, so running it often costs little. One edition failing does not
    stop the others; the run fails at the end if any did.

    Args:
        day: A Vietnam calendar date, or None for the rolling window.
        area_code: Only this area and the communes under it.
        skip_if_busy: do nothing while another build holds the ``bantin-program`` slot (the scheduled runs of
            the ``program`` deployment: two builds would race for the same editions; the next one catches up).

    Returns:
        Counts: ``built`` editions and ``failed`` ones.
    """
    logger = get_run_logger()
    with one_at_a_time(PROGRAM_LIMIT, skip_if_busy) as go:
        if not go:
            logger.info("the previous build is still working; this one skips its turn")
            return {"built": 0, "failed": 0}
        return _build(day, area_code, logger)


def _build(day: str | None, area_code: str | None, logger: Any) -> dict[str, int]:
    start, end = _window(day, datetime.now(UTC))
    if end <= start:
        logger.info("nothing to build: every slot of %s is already final or past", day)
        return {"built": 0, "failed": 0}
    jobs = plan_window(start.isoformat(), end.isoformat(), area_code)
    built = failed = 0
    for job in jobs:
        try:
            build_edition(job)
            built += 1
        except Exception as exc:  # one commune's failure must not keep the others off the air
            failed += 1
            logger.exception("edition %s %s %s failed", job.area_code, job.slot_date, job.language)
            mark_edition_failed(job, describe_error(exc))
    if failed:
        raise RuntimeError(f"{failed} of {len(jobs)} edition(s) failed; see 'bantin programs plan'")
    return {"built": built, "failed": failed}
