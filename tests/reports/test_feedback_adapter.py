"""The feedback section: "not available" without the feedback service, its figures when it is there."""

import sys
import types
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from services import feedback_adapter
from services import reports as report_service
from services.report_render import to_csv
from services.runtime import session


def test_not_available_without_the_service(province, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "services.feedback", None)  # as when the module is absent (conftest does too)
    now = datetime.now(UTC)
    with session() as s:
        assert feedback_adapter.overdue_count(s, "08", now) is None
        data = report_service.compute(s, report_service.resolve_period("2026-Q3", today=now.date()), "08", now=now)
    assert data.feedback is None
    assert "Không có số liệu" in to_csv(data).decode("utf-8-sig")


def test_figures_from_the_service(province, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def figures(session, area_code, start, end, *, now):  # noqa: ANN001, ANN202
        calls.append(area_code)
        return SimpleNamespace(total=12, answered=9, answered_on_time=7, on_time_percent=77.8, overdue=2)

    fake = types.ModuleType("services.feedback")
    fake.figures = figures  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "services.feedback", fake)
    now = datetime.now(UTC)
    with session() as s:
        assert feedback_adapter.overdue_count(s, "070", now) == 2
        data = report_service.compute(s, report_service.resolve_period("2026-Q3", today=now.date()), "08", now=now)
    assert data.feedback == {"received": 12, "answered": 9, "answered_on_time": 7, "on_time_pct": 77.8, "overdue": 2}
    assert calls == ["070", "08"]
    rows = to_csv(data).decode("utf-8-sig").splitlines()
    assert "Phản ánh tiếp nhận,12" in rows and "Tỷ lệ trả lời đúng hạn (%),77.8" in rows
