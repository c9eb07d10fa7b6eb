"""Device online/offline changes recorded from the times of their requests, so uptime per device and per commune
is right even when the reports flow runs only hourly: a controlled clock drives device requests (signed, through
``services.devices.authenticate``) and the hourly flow pass; the expected uptime is worked out by hand below."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from services import devices as device_service
from services import reports as report_service
from services import rollups
from services.runtime import session
from storage.repositories import reports as repo

T0 = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)  # 00:00 on 1 November 2026 in Vietnam
HOURLY = rollups.Thresholds(online_s=300, offline_s=3600)  # the settings' defaults


def _at(h: int, m: int = 0) -> datetime:
    return T0 + timedelta(hours=h, minutes=m)


def _poll(province, name: str, at: datetime) -> None:  # noqa: ANN001
    dev = province.devices[name]
    dev.clock_offset = round(at.timestamp() - time.time())
    path = "/device/v1/schedule"
    headers = {k.lower(): v for k, v in dev.headers("GET", path).items()}  # as Starlette's headers read them
    with session() as s:
        device_service.authenticate(s, headers=headers, method="GET", path_with_query=path, body=b"", now=at)


def test_outages_between_hourly_runs_count_in_uptime(province) -> None:
    every5 = [_at(0, m) for m in range(0, 6 * 60, 5)]
    polls = {
        "a1": [t for t in every5 if t <= _at(0, 55) or t >= _at(3, 10)],  # offline 01:55 (55 min + 1 h) to 03:10
        "a2": [t for t in every5 if t <= _at(3, 5) or t >= _at(4, 15)],  # offline 04:05 to 04:15, between runs
        "b1": every5,  # never misses
    }
    events = sorted([(t, 0, name) for name, ts in polls.items() for t in ts] + [(_at(h), 1, "") for h in range(1, 7)])
    for at, kind, name in events:  # at the same minute, requests come before the flow's pass
        if kind == 0:
            _poll(province, name, at)
        else:
            with session() as s:
                rollups.record_state_changes(s, at, HOURLY)

    ids = {name: province.id(name) for name in polls}
    with session() as s:
        changes = repo.state_changes(s, ids.values(), _at(7))
    recorded = {name: [(at, online) for d, at, online in changes if d == i] for name, i in ids.items()}
    assert recorded == {
        "a1": [(_at(0), True), (_at(1, 55), False), (_at(3, 10), True)],
        "a2": [(_at(0), True), (_at(4, 5), False), (_at(4, 15), True)],
        "b1": [(_at(0), True)],
    }

    now = _at(6)
    with session() as s:
        per_device = report_service.device_uptime(s, list(ids.values()), T0, now)
        data = report_service.compute(s, report_service.resolve_period("2026-11-01..2026-11-01",
                                                                       today=(now + timedelta(hours=7)).date()),
                                      "070", now=now)
    # Six hours: a1 down 75 minutes, a2 down 10, b1 never.
    assert per_device == {ids["a1"]: pytest.approx(100 * 285 / 360), ids["a2"]: pytest.approx(100 * 350 / 360),
                          ids["b1"]: 100.0}
    communes = {c.code: c.uptime_pct for c in data.communes}
    assert communes["02200"] == 88.2  # (79.17 + 97.22) / 2
    assert communes["02203"] == 100.0  # b1 (b2 never heard from: no state, left out)
    assert communes["02206"] is None
    assert data.headline["uptime_pct"] == 92.1  # (79.17 + 97.22 + 100) / 3


def test_first_request_marks_a_device_online_once(province) -> None:
    _poll(province, "c1", _at(0))
    _poll(province, "c1", _at(0, 5))
    with session() as s:
        assert rollups.record_state_changes(s, _at(0, 6), HOURLY) == 0
        assert [(at, online) for _d, at, online in repo.state_changes(s, [province.id("c1")], _at(1))] == [
            (_at(0), True)]
