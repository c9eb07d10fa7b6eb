"""The citizen feedback figures reports and the dashboard show, when the feedback service exists.

``services.feedback`` is built separately; when it is not installed (or cannot be imported, or lacks
``figures``) the figures are None and pages and reports mark the section "not available" rather than showing
zeros. It is expected to offer ``figures(session, area_code, start, end, *, now) -> Figures`` with integer
``total``, ``answered``, ``answered_on_time`` and ``overdue`` and a float ``on_time_percent`` (or None).
"""

import importlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

OVERDUE_LOOKBACK = timedelta(days=365)


def _figures_function() -> Any:
    try:
        module = importlib.import_module("services.feedback")
    except ImportError:
        return None
    return getattr(module, "figures", None)


def report_figures(s: Session, area_code: str, start: datetime, end: datetime,
                   now: datetime) -> dict[str, Any] | None:
    """Received, answered, answered on time (count and percent) and overdue, for items received in [start, end)."""
    fn = _figures_function()
    if fn is None:
        return None
    f = fn(s, area_code, start, end, now=now)
    return {"received": int(f.total), "answered": int(f.answered), "answered_on_time": int(f.answered_on_time),
            "on_time_pct": f.on_time_percent, "overdue": int(f.overdue)}


def overdue_count(s: Session, area_code: str, now: datetime) -> int | None:
    """Feedback items of the last year in the area still unanswered past their due date."""
    figures = report_figures(s, area_code, now - OVERDUE_LOOKBACK, now, now)
    return None if figures is None else figures["overdue"]
