"""Pure program rules: slot recurrence in Vietnam time, selection per Circular 39, quiet hours, conflicts."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain.areas import Area, AreaLevel
from domain.editions import (
    AudioRef,
    Candidate,
    Frame,
    LeftOutReason,
    OfficerOrder,
    effective_languages,
    lineage_of,
    select_for_slot,
)
from domain.errors import InvalidInput
from domain.priority import Priority
from domain.programs import (
    VN_TZ,
    WEEKDAYS,
    SlotRule,
    day_window,
    format_weekdays,
    next_occurrences,
    occurrences,
    parse_clock,
    parse_weekdays,
    resolve_conflicts,
    slot_on,
    slot_quiet_conflict,
    validate_quiet_hours,
    validate_volume_profile,
    volume_at,
)

TREE = {
    "84": Area("84", "Tỉnh Trà Vinh", AreaLevel.PROVINCE, None, ("vi", "km")),
    "842": Area("842", "Huyện Càng Long", AreaLevel.DISTRICT, "84"),
    "29000": Area("29000", "Xã A", AreaLevel.COMMUNE, "842"),
    "29001": Area("29001", "Xã B", AreaLevel.COMMUNE, "842"),
    "843": Area("843", "Huyện Cầu Kè", AreaLevel.DISTRICT, "84"),
    "29100": Area("29100", "Xã C", AreaLevel.COMMUNE, "843"),
}


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN_TZ)


def test_clock_and_weekday_parsing() -> None:
    assert parse_clock("6:00") == time(6, 0) and parse_clock("17h30") == time(17, 30)
    for bad in ("24:00", "6", "06:60", "sáng"):
        with pytest.raises(InvalidInput):
            parse_clock(bad)
    assert parse_weekdays("weekdays") == WEEKDAYS == parse_weekdays("t2-t6") == parse_weekdays("Mon-Fri")
    assert parse_weekdays("T7, CN") == {5, 6} == parse_weekdays("Thứ Bảy,Chủ nhật")
    assert parse_weekdays("fri-mon") == {4, 5, 6, 0}  # wraps past Sunday
    assert parse_weekdays("hằng ngày") == set(range(7))
    with pytest.raises(InvalidInput, match="not a day"):
        parse_weekdays("mon,funday")
    assert format_weekdays(WEEKDAYS) == "T2-T6" and format_weekdays({0, 2, 4}, "en") == "Mon, Wed, Fri"


def test_morning_slot_in_vietnam_starts_the_previous_utc_day() -> None:
    rule = SlotRule(1, "29000", time(6, 0))
    slot = slot_on(rule, date(2026, 11, 24))
    assert slot is not None and slot.starts_at == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    # A window given in UTC that covers 23:00 UTC on the 23rd finds the 24th's slot (Vietnam date).
    found = occurrences(rule, datetime(2026, 11, 23, 22, 0, tzinfo=UTC), datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    assert [s.local_date for s in found] == [date(2026, 11, 24)]
    start, end = day_window(date(2026, 11, 24))
    assert start == datetime(2026, 11, 23, 17, 0, tzinfo=UTC) and end - start == timedelta(days=1)


def test_next_occurrences_cross_midnight_and_skip_the_weekend() -> None:
    rule = SlotRule(1, "29000", time(17, 0), weekdays=WEEKDAYS)
    friday_evening = vn(2026, 11, 27, 17, 0)  # exactly at the slot: strictly after means the next one
    nxt = next_occurrences(rule, friday_evening, 3)
    assert [s.local_date for s in nxt] == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
    late = SlotRule(2, "29000", time(23, 30))
    at = next_occurrences(late, vn(2026, 12, 31, 23, 45), 1)[0]
    assert at.local_date == date(2027, 1, 1) and at.local_start.hour == 23
    with pytest.raises(InvalidInput):
        next_occurrences(rule, datetime(2026, 11, 27, 17, 0), 1)  # naive: refused


def test_slot_rule_validation() -> None:
    with pytest.raises(InvalidInput, match="length"):
        SlotRule(1, "29000", time(6), max_s=10)
    with pytest.raises(InvalidInput, match="emergenc"):
        SlotRule(1, "29000", time(6), priority=Priority.KHAN_CAP)
    with pytest.raises(InvalidInput, match="day"):
        SlotRule(1, "29000", time(6), weekdays=frozenset())


def _cand(pid: int, prio: Priority = Priority.THUONG, areas: tuple[str, ...] = ("842",), dur: float = 60.0,
          langs: tuple[str, ...] = ("vi",), **kw: object) -> Candidate:
    audio = {lang: AudioRef(f"objects/{pid}.mp3", f"{pid:064d}", 1000, dur) for lang in langs}
    return Candidate(pid, f"m{pid}", f"tin {pid}", prio, areas, audio, **kw)  # type: ignore[arg-type]


def test_selection_targets_subtree_and_orders_by_priority_then_officer() -> None:
    lineage = lineage_of("29000", TREE)
    assert lineage == {"29000", "842", "84"}
    start = vn(2026, 11, 24, 6).astimezone(UTC)
    cands = [
        _cand(1), _cand(2, Priority.UU_TIEN, ("84",)), _cand(3, areas=("29000",)),
        _cand(4, areas=("29001",)),  # another commune: not ours, not reported
        _cand(5, Priority.UU_TIEN, ("29000",)),
    ]
    sel = select_for_slot(cands, lineage=lineage, language="vi", starts_at=start, max_s=900,
                          frame=Frame(10, 5, 2))
    assert [i.package_id for i in sel.items] == [2, 5, 1, 3]  # ưu tiên first, then first-come (id)
    assert sel.left_out == ()
    assert sel.items[0].offset_s == 12 and sel.items[1].offset_s == 12 + 60 + 2
    assert sel.total_s == 10 + 5 + 4 * 60 + 5 * 2
    officer = OfficerOrder(order=(3, 5, 1), skipped=frozenset())
    sel = select_for_slot(cands, lineage=lineage, language="vi", starts_at=start, max_s=900, officer=officer)
    # The officer reorders within a level; ưu tiên items still come before thường items.
    assert [i.package_id for i in sel.items] == [5, 2, 3, 1]


def test_selection_reports_what_it_leaves_out_and_why() -> None:
    start = vn(2026, 11, 24, 6).astimezone(UTC)
    cands = [
        _cand(1, embargo_at=start + timedelta(minutes=1)),
        _cand(2, expires_at=start),
        _cand(3, langs=("km",)),
        _cand(4, approved=False),
        _cand(5, dur=500), _cand(6, dur=400), _cand(7, dur=100),
        _cand(8, Priority.UU_TIEN),
        _cand(9),
    ]
    officer = OfficerOrder(skipped=frozenset({8, 9}))  # 8 is ưu tiên: it cannot be left out
    sel = select_for_slot(cands, lineage=lineage_of("29000", TREE), language="vi", starts_at=start, max_s=700,
                          frame=Frame(0, 0, 0), officer=officer)
    assert [i.package_id for i in sel.items] == [8, 5, 7]  # 6 does not fit after 5; the shorter 7 does
    reasons = {x.package_id: x.reason for x in sel.left_out}
    assert reasons == {1: LeftOutReason.EMBARGOED, 2: LeftOutReason.EXPIRED, 3: LeftOutReason.NO_AUDIO,
                       4: LeftOutReason.NOT_APPROVED, 6: LeftOutReason.OVER_CAP, 9: LeftOutReason.SKIPPED}
    assert sel.total_s <= 700
    assert "left" in next(x.detail for x in sel.left_out if x.package_id == 6)


def test_quiet_hours_wrap_midnight_and_volume_profile() -> None:
    quiet = validate_quiet_hours([{"from": "22:00", "to": "05:00"}, {"from": "11:30", "to": "13:30"}])
    assert slot_quiet_conflict(slot_on(SlotRule(1, "x", time(4, 50), max_s=300), date(2026, 11, 24)), quiet)
    assert slot_quiet_conflict(slot_on(SlotRule(1, "x", time(5, 0), max_s=900), date(2026, 11, 24)), quiet) is None
    # A 15-minute programme at 11:20 runs into the midday quiet hours.
    assert slot_quiet_conflict(slot_on(SlotRule(1, "x", time(11, 20), max_s=900), date(2026, 11, 24)), quiet)
    with pytest.raises(InvalidInput, match="overlaps"):
        validate_quiet_hours([{"from": "22:00", "to": "05:00"}, {"from": "04:00", "to": "06:00"}])
    with pytest.raises(InvalidInput, match="whole day"):
        validate_quiet_hours([{"from": "00:00", "to": "12:00"}, {"from": "12:00", "to": "00:00"}])
    profile = validate_volume_profile([{"from": "05:00", "to": "07:00", "percent": 60},
                                       {"from": "07:00", "to": "21:00", "percent": 85}])
    assert volume_at(vn(2026, 11, 24, 6, 30), profile) == 60
    assert volume_at(vn(2026, 11, 24, 23), profile, default=40) == 40
    with pytest.raises(InvalidInput, match="0-100"):
        validate_volume_profile([{"from": "05:00", "to": "07:00", "percent": 160}])


def test_conflicts_resolved_by_priority_then_nearer_area() -> None:
    day = date(2026, 11, 24)
    district = slot_on(SlotRule(1, "842", time(6, 0)), day)
    commune = slot_on(SlotRule(2, "29000", time(6, 5)), day)
    urgent = slot_on(SlotRule(3, "84", time(6, 10), priority=Priority.UU_TIEN), day)
    evening = slot_on(SlotRule(4, "842", time(17, 0)), day)
    assert district and commune and urgent and evening
    kept, conflicts = resolve_conflicts([district, commune, evening], TREE)
    assert [s.program_id for s in kept] == [2, 4]  # the commune's own variant beats the district's
    assert conflicts[0].loser.program_id == 1 and "nearer" in conflicts[0].reason
    kept, conflicts = resolve_conflicts([district, commune, urgent, evening], TREE)
    assert [s.program_id for s in kept] == [3, 4]
    assert {c.loser.program_id for c in conflicts} == {1, 2}


def test_effective_languages_come_from_the_nearest_area_that_lists_them() -> None:
    assert effective_languages("29000", TREE) == ("vi", "km")
    assert effective_languages("99999", TREE) == ("vi",)
