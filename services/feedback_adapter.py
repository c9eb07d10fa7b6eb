"""The citizen feedback figures reports and the dashboard show, when the feedback service exists.

``services.feedback`` is built separately; until it is installed (or if it lacks these functions) the
figures are None and pages and reports mark the section "not available" rather than showing zeros.
Expected functions (keyword arguments):

* ``report_figures(session, area_code=str, start=datetime, end=datetime) -> dict`` with integer
  ``received``, ``answered`` and ``answered_on_time``;
* ``overdue_count(session, area_code=str, now=datetime) -> int``.
"""

import importlib
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


def _function(name: str) -> Any:
    try:
        module = importlib.import_module("services.feedback")
    except ModuleNotFoundError:
        return None
    return getattr(module, name, None)


def report_figures(s: Session, area_code: str, start: datetime, end: datetime) -> dict[str, int] | None:
    fn = _function("report_figures")
    if fn is None:
        return None
    raw = fn(s, area_code=area_code, start=start, end=end)
    return {k: int(raw.get(k, 0)) for k in ("received", "answered", "answered_on_time")}


def overdue_count(s: Session, area_code: str, now: datetime) -> int | None:
    fn = _function("overdue_count")
    return None if fn is None else int(fn(s, area_code=area_code, now=now))
