"""The reports flow (deployment ``reports``, every ``BANTIN_REPORTS_INTERVAL_S``): keep the play rollups and
device state changes current, and generate each province's periodic reports a few days before their Circular
02/2023 deadlines (monthly by the 15th, quarterly by the 6th of the quarter's last month, half-year by 6 June,
year by 25 November). Officers can regenerate any report on demand (web app or ``bantin reports generate``)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger

from tasks.limits import REPORTS_LIMIT, one_at_a_time
from tasks.reports import fold_rollups, generate_report, record_device_states, reports_due

VN = timedelta(hours=7)


@flow(name="maintain-reports", flow_run_name="maintain-reports", validate_parameters=True)
def maintain_reports(today: str | None = None, formats: list[str] | None = None, lead_days: int = 3,
                     skip_if_busy: bool = False) -> dict[str, int]:
    """Fold rollups, record device states, then generate the reports that are due and missing.

    Args:
        today: Vietnam date (YYYY-MM-DD) to judge deadlines by; default today.
        formats: File formats to make for each due report (default pdf and xlsx).
        lead_days: How many days before a deadline the report is prepared.
        skip_if_busy: do nothing while another run holds the ``bantin-reports`` slot (the scheduled runs of the
            ``reports`` deployment; the next one catches up).

    Returns:
        Counts: ``folded`` play log rows, ``state_changes``, ``reports`` generated.
    """
    logger = get_run_logger()
    with one_at_a_time(REPORTS_LIMIT, skip_if_busy) as go:
        if not go:
            logger.info("the previous reports run is still working; this one skips its turn")
            return {"folded": 0, "state_changes": 0, "reports": 0}
        return _maintain(today, formats, lead_days, logger)


def _maintain(today: str | None, formats: list[str] | None, lead_days: int, logger: Any) -> dict[str, int]:
    folded = fold_rollups()
    changes = record_device_states()
    day = today or (datetime.now(UTC) + VN).date().isoformat()
    made = 0
    for period, area, fmt in reports_due(day, formats or ["pdf", "xlsx"], lead_days):
        generate_report(period, area, fmt)
        logger.info("generated the %s report for %s (%s)", period, area, fmt)
        made += 1
    return {"folded": folded, "state_changes": changes, "reports": made}
