"""Relays: upper-level stations rebroadcast at set times over an area's Icecast mount (pure; no I/O).

A **relay source** is an upstream the installation may pull (VOV1, the provincial station): a name and an
HTTP(S) URL of an Icecast/HTTP MP3 or AAC stream or an HLS playlist. A **relay slot** puts a source on one
area's air on some weekdays from a start to an end time, Vietnam wall clock ("VOV1 thời sự 06:00-06:30,
T2-T6"). Two slots of one area may not overlap; a slot ends on the day it starts. Slot occurrences reuse the
programme calendar (``domain.programs``). Emergencies preempt relays: devices play an emergency over a
stream, and the relay flow leaves the mount when the area has a live emergency.

Messages are English one-liners (CLI, logs); ``web.officer_text`` says them in Vietnamese.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from domain.clock import require_aware
from domain.errors import InvalidInput
from domain.priority import Priority
from domain.programs import (
    ALL_DAYS,
    VN_TZ,
    format_clock,
    format_weekdays,
    local_date,
)
from domain.statemachine import check_transition

MAX_RELAY_S = 6 * 3600  # a relay longer than six hours is a typo, not a programme
MIN_RELAY_S = 60
NAME_MAX = 100
URL_MAX = 500


def check_source(name: str, url: str) -> tuple[str, str]:
    """A relay source's name and URL, cleaned.

    Raises:
        InvalidInput: an empty or too long name, a URL that is not http(s) with a host.
    """
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("a relay source needs a name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"a relay source name has at most {NAME_MAX} characters")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > URL_MAX or any(
            c.isspace() for c in url):
        raise InvalidInput("the relay source URL must start with http:// or https:// and name a host")
    return name, url


@dataclass(frozen=True, slots=True)
class RelaySlotRule:
    """When a source airs in an area: ``[start, end)`` Vietnam wall clock on ``weekdays`` (Monday = 0)."""

    slot_id: int
    source_id: int
    area_code: str
    start: time
    end: time
    weekdays: frozenset[int] = ALL_DAYS
    priority: Priority = Priority.UU_TIEN

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= ALL_DAYS:
            raise InvalidInput("a relay slot needs at least one day of the week (0 = Monday … 6 = Sunday)")
        if self.end <= self.start:
            raise InvalidInput(f"a relay slot must end after it starts on the same day "
                               f"({format_clock(self.start)}-{format_clock(self.end)})")
        if not MIN_RELAY_S <= self.seconds <= MAX_RELAY_S:
            raise InvalidInput(f"a relay slot lasts from 1 minute to {MAX_RELAY_S // 3600} hours")
        if self.priority is Priority.KHAN_CAP:
            raise InvalidInput("a relay cannot be an emergency: emergencies go through the emergency path")

    @property
    def seconds(self) -> int:
        return (self.end.hour * 60 + self.end.minute - self.start.hour * 60 - self.start.minute) * 60

    def label(self, lang: str = "vi") -> str:
        return f"{format_clock(self.start)}-{format_clock(self.end)} {format_weekdays(self.weekdays, lang)}"


@dataclass(frozen=True, slots=True)
class RelayOccurrence:
    """One airing of a relay slot: its Vietnam date and its UTC start and end."""

    slot_id: int
    source_id: int
    area_code: str
    local_date: date
    starts_at: datetime
    ends_at: datetime
    priority: Priority

    @property
    def key(self) -> str:
        """Stable id of this airing (schedule item ids, run names)."""
        return f"relay-{self.slot_id}-{self.local_date.isoformat()}"


def occurrence_on(rule: RelaySlotRule, day: date) -> RelayOccurrence | None:
    if day.weekday() not in rule.weekdays:
        return None
    starts = datetime.combine(day, rule.start, VN_TZ)
    ends = datetime.combine(day, rule.end, VN_TZ)
    return RelayOccurrence(rule.slot_id, rule.source_id, rule.area_code, day, starts.astimezone(UTC),
                           ends.astimezone(UTC), rule.priority)


def occurrences(rule: RelaySlotRule, start: datetime, end: datetime) -> list[RelayOccurrence]:
    """Airings of ``rule`` that are on the air at some time in ``[start, end)``, in time order."""
    start, end = require_aware(start), require_aware(end)
    out = []
    day = local_date(start) - timedelta(days=1)
    while day <= local_date(end):
        occ = occurrence_on(rule, day)
        if occ is not None and occ.starts_at < end and occ.ends_at > start:
            out.append(occ)
        day += timedelta(days=1)
    return out


def overlapping(rule: RelaySlotRule, others: Iterable[RelaySlotRule]) -> RelaySlotRule | None:
    """The first slot of the same area that shares a weekday and a minute with ``rule`` (itself excluded)."""
    for other in others:
        if other.slot_id == rule.slot_id or other.area_code != rule.area_code:
            continue
        if rule.weekdays & other.weekdays and rule.start < other.end and other.start < rule.end:
            return other
    return None


def check_no_overlap(rule: RelaySlotRule, others: Iterable[RelaySlotRule]) -> None:
    """Raises:
        InvalidInput: ``rule`` overlaps another relay slot of its area.
    """
    clash = overlapping(rule, others)
    if clash is not None:
        raise InvalidInput(f"the relay slot {rule.label('en')} overlaps relay slot {clash.slot_id} "
                           f"({clash.label('en')}) in area {rule.area_code}")


class RelayRunStatus(StrEnum):
    """Where one airing's run is. ``relay-due`` claims it (``claimed``); the carrier that starts feeding the
    mount takes it (``claimed`` -> ``running``, compare-and-set: one carrier only, and never a run the sweeper
    failed); while carried it moves between ``running`` (the upstream) and ``fallback`` (default content).
    It ends ``done`` (no outage), ``fallback`` (with an ``ended`` event: there were outages) or ``failed``
    (the carrier failed, never started before the airing ended, or went silent)."""

    CLAIMED = "claimed"
    RUNNING = "running"
    FALLBACK = "fallback"
    DONE = "done"
    PREEMPTED = "preempted"
    FAILED = "failed"


RELAY_RUN_TRANSITIONS: dict[RelayRunStatus, frozenset[RelayRunStatus]] = {
    RelayRunStatus.CLAIMED: frozenset({RelayRunStatus.RUNNING, RelayRunStatus.FAILED}),
    RelayRunStatus.RUNNING: frozenset({RelayRunStatus.FALLBACK, RelayRunStatus.DONE, RelayRunStatus.PREEMPTED,
                                       RelayRunStatus.FAILED}),
    RelayRunStatus.FALLBACK: frozenset({RelayRunStatus.RUNNING, RelayRunStatus.PREEMPTED, RelayRunStatus.FAILED}),
    RelayRunStatus.DONE: frozenset(),
    RelayRunStatus.PREEMPTED: frozenset(),
    RelayRunStatus.FAILED: frozenset(),
}
CARRYING = frozenset({RelayRunStatus.RUNNING, RelayRunStatus.FALLBACK})  # a carrier feeds the mount (or did)


def transition_relay_run(current: RelayRunStatus, target: RelayRunStatus) -> RelayRunStatus:
    """Enforce :data:`RELAY_RUN_TRANSITIONS` (staying in a state is no move and always allowed).

    Raises:
        InvalidTransition: the edge is not in the table.
    """
    if current is target:
        return target
    return check_transition("relay run", RELAY_RUN_TRANSITIONS, current, target)
