"""Report tasks: fold play logs into the rollups, record device state changes, find the reports due under
Circular 02/2023 and generate them. Tasks pass period labels, area codes and report ids."""

from datetime import UTC, date, datetime

from prefect import task

from domain.reports import periods_due
from services import auth, report_files, rollups
from services.runtime import object_store, session
from storage.repositories import reports as repo
from tasks.retry import RETRY_TRANSIENT

SYSTEM_ACTOR = "system:reports"


@task(name="fold-play-rollups", **RETRY_TRANSIENT)
def fold_rollups() -> int:
    """Fold every new play log row into ``play_daily`` and ``play_firsts``; returns rows folded."""
    return rollups.fold_all(session)


@task(name="record-device-states", **RETRY_TRANSIENT)
def record_device_states() -> int:
    with session() as s:
        return rollups.record_state_changes(s, datetime.now(UTC), rollups.Thresholds.from_settings())


@task(name="reports-due")
def reports_due(today: str, formats: list[str], lead_days: int) -> list[tuple[str, str, str]]:
    """(period, top-level area, format) of every report due within ``lead_days`` that does not exist yet."""
    day = date.fromisoformat(today)
    with session() as s:
        roots = sorted(c for c, a in auth.area_tree(s).items() if a.parent_code is None)
        return [(p.label, code, fmt) for p in periods_due(day, lead_days=lead_days) for code in roots
                for fmt in formats if not repo.report_exists(s, p.label, code, fmt)]


@task(name="generate-report", **RETRY_TRANSIENT)
def generate_report(period: str, area_code: str, fmt: str) -> int:
    with session() as s:
        rec = report_files.generate(s, object_store(), period=period, area_code=area_code, fmt=fmt,
                                    actor=SYSTEM_ACTOR, now=datetime.now(UTC), check_user=False)
        return rec.id
