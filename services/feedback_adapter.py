"""The citizen feedback figures reports and the dashboard show, from ``services.feedback.figures``."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services import feedback

OVERDUE_LOOKBACK = timedelta(days=365)


def report_figures(s: Session, area_code: str, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """Received, answered, answered on time (count and percent), overdue and the median time to answer (hours),
    for items received in [start, end) in the area's subtree."""
    f = feedback.figures(s, area_code, start, end, now=now)
    return {"received": f.total, "answered": f.answered, "answered_on_time": f.answered_on_time,
            "on_time_pct": f.on_time_percent, "overdue": f.overdue, "median_hours": f.median_hours_to_answer}


def overdue_count(s: Session, area_code: str, now: datetime) -> int:
    """Feedback items of the last year in the area still unanswered past their due date."""
    return report_figures(s, area_code, now - OVERDUE_LOOKBACK, now, now)["overdue"]
