"""Relay sources and slots (domain.relays): validation, airings in UTC, overlaps."""

from datetime import UTC, date, datetime, time

import pytest

from domain.errors import InvalidInput
from domain.priority import Priority
from domain.relays import RelaySlotRule, check_no_overlap, check_source, occurrences

WEEKDAYS = frozenset(range(5))


def test_a_source_needs_a_name_and_an_http_url() -> None:
    assert check_source("  VOV1   thời sự ", " https://vov1.example.vn/live.mp3 ") == (
        "VOV1 thời sự", "https://vov1.example.vn/live.mp3")
    for name, url in [("", "http://a/b"), ("VOV1", "ftp://a/b"), ("VOV1", "http:///x"), ("VOV1", "vov1.mp3"),
                      ("VOV1", "http://a/b c")]:
        with pytest.raises(InvalidInput):
            check_source(name, url)


def test_a_weekday_slot_airs_at_six_vietnam_time_which_is_23_utc_the_day_before() -> None:
    rule = RelaySlotRule(1, 1, "29377", time(6, 0), time(6, 30), WEEKDAYS)
    # Monday 7 Dec 2026 to Monday 14 Dec 2026 (UTC): five weekday airings
    found = occurrences(rule, datetime(2026, 12, 6, 12, tzinfo=UTC), datetime(2026, 12, 13, 12, tzinfo=UTC))
    assert [o.local_date for o in found] == [date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9),
                                              date(2026, 12, 10), date(2026, 12, 11)]
    first = found[0]
    assert first.starts_at == datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    assert first.ends_at == datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert first.key == "relay-1-2026-12-07"
    assert first.priority is Priority.UU_TIEN
    # an airing already on the air at the window start counts
    (mid,) = occurrences(rule, datetime(2026, 12, 6, 23, 15, tzinfo=UTC), datetime(2026, 12, 6, 23, 20, tzinfo=UTC))
    assert mid.local_date == date(2026, 12, 7)


@pytest.mark.parametrize(("start", "end", "days", "message"), [
    (time(6, 30), time(6, 0), WEEKDAYS, "must end after it starts"),
    (time(6, 0), time(6, 0), WEEKDAYS, "must end after it starts"),
    (time(0, 0), time(7, 0), WEEKDAYS, "from 1 minute to 6 hours"),
    (time(6, 0), time(6, 30), frozenset(), "at least one day"),
])
def test_bad_slots_are_refused(start: time, end: time, days: frozenset[int], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        RelaySlotRule(1, 1, "29377", start, end, days)


def test_an_emergency_relay_is_refused() -> None:
    with pytest.raises(InvalidInput, match="emergency"):
        RelaySlotRule(1, 1, "29377", time(6), time(7), WEEKDAYS, Priority.KHAN_CAP)


def test_overlapping_slots_of_one_area_are_refused_touching_ones_and_other_areas_are_not() -> None:
    morning = RelaySlotRule(1, 1, "29377", time(6, 0), time(6, 30), WEEKDAYS)
    existing = [morning, RelaySlotRule(2, 1, "29377", time(18, 0), time(19, 0), frozenset({5, 6}))]
    check_no_overlap(RelaySlotRule(0, 2, "29377", time(6, 30), time(7, 0), WEEKDAYS), existing)  # touches
    check_no_overlap(RelaySlotRule(0, 2, "29380", time(6, 0), time(6, 30), WEEKDAYS), existing)  # other area
    check_no_overlap(RelaySlotRule(0, 2, "29377", time(18, 0), time(19, 0), WEEKDAYS), existing)  # other days
    with pytest.raises(InvalidInput, match=r"06:15-06:45 T2-T6|overlaps relay slot 1"):
        check_no_overlap(RelaySlotRule(0, 2, "29377", time(6, 15), time(6, 45), frozenset({0})), existing)
    with pytest.raises(InvalidInput, match="overlaps relay slot 2"):
        check_no_overlap(RelaySlotRule(0, 2, "29377", time(17, 0), time(18, 30), frozenset({6})), existing)


def test_a_relay_run_moves_only_along_its_table() -> None:
    from domain.errors import InvalidTransition
    from domain.relays import RelayRunStatus as R
    from domain.relays import transition_relay_run

    assert transition_relay_run(R.CLAIMED, R.RUNNING) is R.RUNNING  # the carrier's handover
    assert transition_relay_run(R.CLAIMED, R.FAILED) is R.FAILED  # the sweeper: never carried
    assert transition_relay_run(R.RUNNING, R.FALLBACK) is R.FALLBACK
    assert transition_relay_run(R.FALLBACK, R.FALLBACK) is R.FALLBACK  # ended on default content
    for current, target in ((R.FAILED, R.RUNNING), (R.DONE, R.RUNNING), (R.CLAIMED, R.DONE),
                            (R.CLAIMED, R.FALLBACK), (R.FALLBACK, R.DONE)):
        with pytest.raises(InvalidTransition):
            transition_relay_run(current, target)
