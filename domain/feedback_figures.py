"""Feedback figures for reports: counts by state, category and area, median time to answer, and the share
answered on time (the QĐ 135 indicator). Pure: the items and ``now`` are passed in."""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from domain.feedback import FeedbackState, due_deadline


@dataclass(frozen=True, slots=True)
class ItemTimes:
    """What the figures need of one item."""

    state: FeedbackState
    category: str
    area_code: str
    received_at: datetime
    due: date
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Figures:
    """Feedback figures for a period (items *received* in ``[start, end)``), computed at ``now``.

    ``on_time_percent``: of the items that are due by ``now`` or already answered, the share answered by
    the end of their due date (the QĐ 135 indicator); None when no item counts yet. Rejected items (spam,
    duplicates) are left out of it. ``median_hours_to_answer``: over answered items (None: none).
    """

    total: int
    by_state: dict[str, int]
    by_category: dict[str, int]
    by_area: dict[str, int]
    answered: int
    answered_on_time: int
    counted_for_on_time: int
    on_time_percent: float | None
    median_hours_to_answer: float | None
    overdue: int


def compute_figures(items: Iterable[ItemTimes], now: datetime) -> Figures:
    by_state: dict[str, int] = {}
    by_category: dict[str, int] = {}
    by_area: dict[str, int] = {}
    hours: list[float] = []
    total = on_time = counted = overdue = 0
    for it in items:
        total += 1
        by_state[it.state.value] = by_state.get(it.state.value, 0) + 1
        by_category[it.category] = by_category.get(it.category, 0) + 1
        by_area[it.area_code] = by_area.get(it.area_code, 0) + 1
        deadline = due_deadline(it.due)
        if it.answered_at is not None:
            hours.append((it.answered_at - it.received_at).total_seconds() / 3600)
        if it.state is FeedbackState.REJECTED:
            continue
        if it.answered_at is not None:
            counted += 1
            on_time += it.answered_at < deadline
        elif now >= deadline:
            counted += 1
            overdue += 1
    percent = round(100.0 * on_time / counted, 1) if counted else None
    median = round(statistics.median(hours), 2) if hours else None
    return Figures(total=total, by_state=by_state, by_category=by_category, by_area=by_area, answered=len(hours),
                   answered_on_time=on_time, counted_for_on_time=counted, on_time_percent=percent,
                   median_hours_to_answer=median, overdue=overdue)
