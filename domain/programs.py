"""Programs: recurring bulletin slots per area, quiet hours and volume profiles, conflicts (pure; no I/O).

A **program** is a recurring slot (e.g. "Bản tin sáng", 06:00 every weekday) defined for an area. Times are
wall-clock times in Vietnam (Asia/Ho_Chi_Minh, UTC+7 all year); every computation takes an explicit ``now``
so tests control the clock. What one occurrence (an **edition**) carries is ``domain.editions``.

Modelled on LibreTime/AzuraCast shows (a slot with a length that trims overbooked content), Xibo dayparting
(weekday rules, priorities resolving overlaps) and Superdesk's scheduled templates (times plus weekdays).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.areas import Area
from domain.clock import require_aware
from domain.errors import InvalidInput
from domain.priority import Priority

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ALL_DAYS = frozenset(range(7))  # Monday = 0 … Sunday = 6 (Python's weekday())
WEEKDAYS = frozenset(range(5))
MAX_PROGRAM_S = 3 * 3600  # a loudspeaker bulletin longer than three hours is a typo, not a program

_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:hH]([0-5]\d)$")
# English, Vietnamese (thứ hai = Monday … chủ nhật = Sunday, also written t2 … t7, cn) and numbers 0-6.
_DAY_NAMES: dict[str, int] = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "t2": 0, "t3": 1, "t4": 2, "t5": 3, "t6": 4, "t7": 5, "cn": 6,
    "thu2": 0, "thu3": 1, "thu4": 2, "thu5": 3, "thu6": 4, "thu7": 5, "chunhat": 6,
}
_DAY_LABELS_VI = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
_DAY_LABELS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_NAMES: dict[str, int] = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "thuhai": 0, "thuba": 1, "thutu": 2, "thunam": 3, "thusau": 4, "thubay": 5,
}


# ----------------------------------------------------------------------------------------------------------
# Clock times and weekday rules


def parse_clock(value: str) -> time:
    """Parse a wall-clock time such as ``06:00``, ``6:00`` or ``17h30``.

    Raises:
        InvalidInput: not a time of day.
    """
    m = _CLOCK.match(value.strip())
    if m is None:
        raise InvalidInput(f"'{value}' is not a time of day (use HH:MM, e.g. 06:00 or 17:30)")
    return time(int(m.group(1)), int(m.group(2)))


def format_clock(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def _fold(text: str) -> str:
    """Lower-case without diacritics or spaces: "Thứ Hai" -> "thuhai", "Chủ nhật" -> "chunhat"."""
    decomposed = unicodedata.normalize("NFD", text.strip().lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) and not ch.isspace())


def _day(token: str) -> int:
    key = _fold(token)
    if len(key) == 1 and key.isdigit() and int(key) < 7:
        return int(key)
    if key in _DAY_NAMES:
        return _DAY_NAMES[key]
    if key in _LONG_NAMES:
        return _LONG_NAMES[key]
    raise InvalidInput(f"'{token}' is not a day of the week (use mon…sun, t2…t7/cn, or 0-6 with 0 = Monday)")


def parse_weekdays(value: str) -> frozenset[int]:
    """Parse a weekday rule: ``daily``, ``weekdays`` (Mon–Fri), ``weekend``, or a list/range such as
    ``mon,wed,fri``, ``mon-fri``, ``t2-t6`` or ``t7,cn``.

    Raises:
        InvalidInput: a token names no day, or the rule selects no day.
    """
    spec = value.strip().lower()
    named = {"daily": ALL_DAYS, "everyday": ALL_DAYS, "hangngay": ALL_DAYS, "weekdays": WEEKDAYS,
             "ngaythuong": WEEKDAYS, "weekend": frozenset({5, 6}), "cuoituan": frozenset({5, 6})}
    if _fold(spec) in named:
        return named[_fold(spec)]
    days: set[int] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first), _day(last)
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        else:
            days.add(_day(part))
    if not days:
        raise InvalidInput(f"'{value}' selects no day of the week")
    return frozenset(days)


def format_weekdays(days: Iterable[int], lang: str = "vi") -> str:
    """``hằng ngày``/``daily``, ``T2-T6``/``Mon-Fri`` or a list such as ``T2, T4, T6``."""
    days = frozenset(days)
    if days == ALL_DAYS:
        return "hằng ngày" if lang == "vi" else "daily"
    labels = _DAY_LABELS_VI if lang == "vi" else _DAY_LABELS_EN
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{labels[ordered[0]]}-{labels[ordered[-1]]}"
    return ", ".join(labels[d] for d in ordered)


# ----------------------------------------------------------------------------------------------------------
# Slot recurrence


@dataclass(frozen=True, slots=True)
class SlotRule:
    """When a program airs: a Vietnam wall-clock time on some weekdays, in an area, for at most ``max_s``."""

    program_id: int
    area_code: str
    at: time
    weekdays: frozenset[int] = ALL_DAYS
    max_s: float = 900.0
    priority: Priority = Priority.THUONG
    name: str = ""

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= ALL_DAYS:
            raise InvalidInput("a program needs at least one day of the week (0 = Monday … 6 = Sunday)")
        if not 30.0 <= self.max_s <= MAX_PROGRAM_S:
            raise InvalidInput(f"program length must be 30 s to {MAX_PROGRAM_S // 3600} h, got {self.max_s:.0f} s")
        if self.priority is Priority.KHAN_CAP:
            raise InvalidInput("emergencies are not programs: they play at once (use the emergency path)")


@dataclass(frozen=True, slots=True)
class Slot:
    """One occurrence of a program: its Vietnam date and its start in UTC."""

    program_id: int
    area_code: str
    local_date: date
    starts_at: datetime  # UTC
    max_s: float
    priority: Priority = Priority.THUONG

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(seconds=self.max_s)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(VN_TZ)


def local_date(moment: datetime) -> date:
    """The Vietnam calendar date of an instant."""
    return require_aware(moment).astimezone(VN_TZ).date()


def day_window(day: date) -> tuple[datetime, datetime]:
    """The UTC instants where a Vietnam calendar day starts and ends (00:00 to the next 00:00 local)."""
    start = datetime.combine(day, time(0), VN_TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def slot_on(rule: SlotRule, day: date) -> Slot | None:
    """The rule's slot on a Vietnam date, or None when the rule skips that weekday."""
    if day.weekday() not in rule.weekdays:
        return None
    starts = datetime.combine(day, rule.at, VN_TZ).astimezone(UTC)
    return Slot(rule.program_id, rule.area_code, day, starts, rule.max_s, rule.priority)


def occurrences(rule: SlotRule, start: datetime, end: datetime) -> list[Slot]:
    """Slots of ``rule`` starting in ``[start, end)``, in time order.

    The window may span any number of days and cross midnight in UTC or in Vietnam; both ends must be
    time-zone aware.
    """
    start, end = require_aware(start), require_aware(end)
    if end <= start:
        return []
    out = []
    day = local_date(start) - timedelta(days=1)  # a slot late on the previous local day may start in range
    last = local_date(end)
    while day <= last:
        slot = slot_on(rule, day)
        if slot is not None and start <= slot.starts_at < end:
            out.append(slot)
        day += timedelta(days=1)
    return out


def next_occurrences(rule: SlotRule, now: datetime, count: int = 1) -> list[Slot]:
    """The next ``count`` slots of ``rule`` starting strictly after ``now``."""
    now = require_aware(now)
    out: list[Slot] = []
    day = local_date(now)
    while len(out) < count:
        slot = slot_on(rule, day)
        if slot is not None and slot.starts_at > now:
            out.append(slot)
        day += timedelta(days=1)
    return out


# ----------------------------------------------------------------------------------------------------------
# Quiet hours and volume profiles


@dataclass(frozen=True, slots=True)
class ClockRange:
    """A daily wall-clock range ``[start, end)``; ``end <= start`` wraps past midnight (22:00–05:00)."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def minutes(self) -> set[int]:
        a, b = self.start.hour * 60 + self.start.minute, self.end.hour * 60 + self.end.minute
        return set(range(a, b)) if a < b else set(range(a, 1440)) | set(range(0, b))

    def to_json(self) -> dict[str, str]:
        return {"from": format_clock(self.start), "to": format_clock(self.end)}


@dataclass(frozen=True, slots=True)
class VolumeStep:
    """Device volume (percent of its maximum) during a daily range."""

    range: ClockRange
    percent: int

    def to_json(self) -> dict[str, object]:
        return {**self.range.to_json(), "percent": self.percent}


def _clock_range(item: Mapping[str, object], what: str) -> ClockRange:
    try:
        start, end = parse_clock(str(item["from"])), parse_clock(str(item["to"]))
    except KeyError as exc:
        raise InvalidInput(f"{what}: each range needs 'from' and 'to' (HH:MM)") from exc
    if start == end:
        raise InvalidInput(f"{what}: {format_clock(start)}-{format_clock(end)} is empty")
    return ClockRange(start, end)


def parse_range_text(value: str) -> ClockRange:
    """``22:00-05:00`` -> a :class:`ClockRange`."""
    first, sep, last = value.partition("-")
    if not sep:
        raise InvalidInput(f"'{value}' is not a time range (use HH:MM-HH:MM, e.g. 22:00-05:00)")
    return _clock_range({"from": first, "to": last}, "time range")


def validate_quiet_hours(ranges: Sequence[Mapping[str, object]]) -> tuple[ClockRange, ...]:
    """Check quiet hours (at most a day's worth, ranges may wrap midnight and may not overlap).

    Raises:
        InvalidInput: a malformed or overlapping range, or quiet all day long.
    """
    out = tuple(_clock_range(r, "quiet hours") for r in ranges)
    _no_overlap(out, "quiet hours")
    if sum(len(r.minutes()) for r in out) >= 1440:
        raise InvalidInput("quiet hours cover the whole day: nothing but emergencies could ever play")
    return out


def validate_volume_profile(steps: Sequence[Mapping[str, object]]) -> tuple[VolumeStep, ...]:
    """Check a volume profile: non-overlapping ranges, each with a percent from 0 to 100.

    Raises:
        InvalidInput: a malformed range, a percent out of range, or overlapping ranges.
    """
    out = []
    for s in steps:
        rng = _clock_range(s, "volume profile")
        try:
            percent = int(str(s.get("percent", "")))
        except ValueError:
            raise InvalidInput("volume profile: 'percent' must be a whole number from 0 to 100") from None
        if not 0 <= percent <= 100:
            raise InvalidInput(f"volume profile: {percent}% is outside 0-100")
        out.append(VolumeStep(rng, percent))
    _no_overlap(tuple(s.range for s in out), "volume profile")
    return tuple(out)


def _no_overlap(ranges: Sequence[ClockRange], what: str) -> None:
    seen: set[int] = set()
    for r in ranges:
        mins = r.minutes()
        if seen & mins:
            raise InvalidInput(f"{what}: {r.to_json()['from']}-{r.to_json()['to']} overlaps another range")
        seen |= mins


def quiet_at(moment: datetime, quiet: Sequence[ClockRange]) -> ClockRange | None:
    """The quiet range covering ``moment`` (any zone; compared in Vietnam time), or None."""
    t = require_aware(moment).astimezone(VN_TZ).time()
    return next((r for r in quiet if r.contains(t)), None)


def slot_quiet_conflict(slot: Slot, quiet: Sequence[ClockRange]) -> ClockRange | None:
    """The quiet range that a slot's start or planned end falls into (devices would mute it), or None."""
    hit = quiet_at(slot.starts_at, quiet)
    if hit is None:
        hit = quiet_at(slot.ends_at - timedelta(seconds=1), quiet)
    return hit


def volume_at(moment: datetime, profile: Sequence[VolumeStep], default: int = 100) -> int:
    """The volume percent a device uses at ``moment`` (``default`` outside every range)."""
    t = require_aware(moment).astimezone(VN_TZ).time()
    return next((s.percent for s in profile if s.range.contains(t)), default)


# ----------------------------------------------------------------------------------------------------------
# Conflicts between programs


@dataclass(frozen=True, slots=True)
class Conflict:
    loser: Slot
    winner: Slot
    reason: str


def resolve_conflicts(slots: Sequence[Slot], areas: Mapping[str, Area]) -> tuple[list[Slot], list[Conflict]]:
    """Among slots that apply to one commune, keep those that do not overlap a stronger one.

    Strength: the program's Circular 39 priority (ưu tiên beats thường), then the nearer area (a commune's
    own program beats its district's at the same time: per-area variants override the common one), then
    the earlier start, then the lower program id (stable).

    Returns:
        The kept slots in time order, and one :class:`Conflict` per dropped slot.
    """
    def depth(code: str) -> int:
        d, current = 0, areas.get(code)
        while current is not None and current.parent_code is not None:
            d += 1
            current = areas.get(current.parent_code)
        return d

    ranked = sorted(slots, key=lambda s: (-s.priority.rank, -depth(s.area_code), s.starts_at, s.program_id))
    kept: list[Slot] = []
    conflicts: list[Conflict] = []
    for slot in ranked:
        clash = next((k for k in kept if slot.starts_at < k.ends_at and k.starts_at < slot.ends_at), None)
        if clash is None:
            kept.append(slot)
            continue
        why = ("higher priority" if clash.priority.rank > slot.priority.rank
               else "area nearer the commune" if depth(clash.area_code) > depth(slot.area_code)
               else "earlier or older program")
        conflicts.append(Conflict(slot, clash, f"overlaps program {clash.program_id} "
                                               f"({clash.local_start:%H:%M}), which wins: {why}"))
    kept.sort(key=lambda s: s.starts_at)
    return kept, conflicts
