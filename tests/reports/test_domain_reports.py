"""Pure rules: periods and Circular 02/2023 deadlines, device telemetry checks, uptime, area aggregation."""

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import InvalidInput
from domain.reports import (
    DeviceState,
    child_towards,
    cut_off,
    descendants,
    device_state,
    item_language,
    leaves,
    parse_health,
    parse_period,
    periods_due,
    uptime_seconds,
)

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(("text", "label", "start", "end", "deadline"), [
    ("2026-07", "2026-07", date(2026, 7, 1), date(2026, 7, 31), date(2026, 7, 15)),
    ("2026-q3", "2026-Q3", date(2026, 7, 1), date(2026, 9, 30), date(2026, 9, 6)),
    ("2026-H1", "2026-H1", date(2026, 1, 1), date(2026, 6, 30), date(2026, 6, 6)),
    ("2026", "2026", date(2026, 1, 1), date(2026, 12, 31), date(2026, 11, 25)),
    ("2026-02", "2026-02", date(2026, 2, 1), date(2026, 2, 28), date(2026, 2, 15)),
    ("2026-07-03..2026-07-09", "2026-07-03..2026-07-09", date(2026, 7, 3), date(2026, 7, 9), None),
])
def test_periods_and_deadlines(text, label, start, end, deadline) -> None:
    p = parse_period(text, today=TODAY)
    assert (p.label, p.start, p.end, p.deadline()) == (label, start, end, deadline)


@pytest.mark.parametrize(("text", "message"), [
    ("2027-Q1", "chưa bắt đầu"), ("2026-12-08..2026-12-20", "chưa bắt đầu"),
    ("2026-07-31..2026-07-01", "trước ngày bắt đầu"), ("2026-13", "tháng 13"), ("Q3", "không hợp lệ"),
    ("2025-01-01..2026-06-01", "quá một năm"), ("", "không hợp lệ"),
])
def test_bad_periods(text, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_period(text, today=TODAY)


def test_titles_and_cut_off() -> None:
    q4 = parse_period("2026-Q4", today=TODAY)
    assert q4.title_vi() == "quý IV năm 2026"
    assert cut_off(q4, TODAY) == date(2026, 12, 6)  # running: up to yesterday
    assert cut_off(parse_period("2026-Q3", today=TODAY), TODAY) == date(2026, 9, 30)
    assert parse_period("2026-H2", today=TODAY).title_vi() == "6 tháng cuối năm 2026"


def test_reports_due_a_few_days_before_their_deadlines() -> None:
    assert [p.label for p in periods_due(date(2026, 9, 3))] == ["2026-Q3"]
    assert [p.label for p in periods_due(date(2026, 9, 12))] == ["2026-09"]
    assert [p.label for p in periods_due(date(2026, 6, 4))] == ["2026-Q2", "2026-H1"]  # both due 6 June
    assert [p.label for p in periods_due(date(2026, 11, 24))] == ["2026"]
    assert periods_due(date(2026, 9, 20)) == []
    assert [p.label for p in periods_due(date(2026, 12, 5))] == ["2026-Q4", "2026-H2"]


def test_health_values_out_of_range_are_dropped_and_counted() -> None:
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    good = parse_health({"uptime_s": 86400, "reboots": 1, "temperature_c": 61.25, "network": "cellular",
                         "reported_at": "2026-12-07T02:59:00Z"}, now=now)
    assert (good.uptime_s, good.reboots, good.temperature_c, good.network, good.rejected) == (
        86400, 1, 61.2, "cellular", ())
    bad = parse_health({"uptime_s": -5, "reboots": 1.5, "temperature_c": 150, "network": "pigeon",
                        "reported_at": (now + timedelta(hours=2)).isoformat()}, now=now)
    assert (bad.uptime_s, bad.reboots, bad.temperature_c, bad.network, bad.reported_at) == (None,) * 5
    assert bad.rejected == ("uptime_s", "reboots", "temperature_c", "network", "reported_at")
    assert parse_health({"temperature_c": -40}, now=now).temperature_c == -40.0
    assert parse_health({"temperature_c": True}, now=now).rejected == ("temperature_c",)
    with pytest.raises(InvalidInput):
        parse_health([1, 2], now=now)


def test_device_state_thresholds() -> None:
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    assert device_state(now - timedelta(seconds=299), now, online_s=300, offline_s=3600) is DeviceState.ONLINE
    assert device_state(now - timedelta(seconds=301), now, online_s=300, offline_s=3600) is DeviceState.STALE
    assert device_state(now - timedelta(seconds=3601), now, online_s=300, offline_s=3600) is DeviceState.OFFLINE
    assert device_state(None, now, online_s=300, offline_s=3600) is DeviceState.OFFLINE


def test_uptime_from_state_changes() -> None:
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    h = timedelta(hours=1)
    changes = [(t0 + 2 * h, False), (t0 + 5 * h, True), (t0 + 9 * h, False)]
    assert uptime_seconds(changes, t0, t0 + 10 * h, True) == 6 * 3600  # 0-2, 5-9
    assert uptime_seconds(changes, t0 + 3 * h, t0 + 10 * h, False) == 4 * 3600


def test_aggregation_follows_parent_links_with_any_number_of_tiers() -> None:
    two_tiers = {"01": None, "00001": "01", "00004": "01"}
    assert descendants("01", two_tiers) == {"01", "00001", "00004"}
    assert child_towards("00004", "01", two_tiers) == "00004"
    assert leaves(descendants("01", two_tiers), two_tiers) == {"00001", "00004"}
    three = {"01": None, "001": "01", "00001": "001"}
    assert child_towards("00001", "01", three) == "001"
    assert child_towards("01", "01", three) is None


def test_item_language_from_the_schedule_item_id() -> None:
    assert item_language("3f2a9c0d1e2b4a5f.km") == "km"
    assert item_language("default-3f2a9c0d1e2b4a5f.vi") == "vi"
    assert item_language("program-12-2026-07-01-02200-hmn") == "hmn"
    assert item_language("3f2a9c0d1e2b4a5f") is None  # no language part
    assert item_language("3f2a9c0d1e2b4a5f.MP3") is None
    assert item_language("bench-item-7") is None  # dashes outside a programme id are not a language
