"""What plays now (pure: no I/O, no clock of its own; times are epoch seconds of the playout clock).

Order, after Circular 39 and OpenBroadcaster's fallback chain:
0. an emergency live session (a ``stream`` item of priority ``khan_cap``), OpenBroadcaster's emergency
   override: it plays from its start to its end, also during quiet hours, and cuts any file or relay, an
   emergency file included;
1. emergencies (``khan_cap``, from the schedule or MQTT), played at once and repeated every
   ``repeat_every_s`` until ``expires_at``, also during quiet hours;
2. nothing else during quiet hours;
3. relay streams (``kind: stream``) from their start to their end: a box that starts mid-slot joins, and after
   an emergency the stream resumes;
4. items with a ``starts_at`` (programs, timed bulletins) at their start, if not later than the tolerance;
5. bulletins without a start time: once on arrival (``play_on_arrival``) and again at each daily slot while
   valid, ``uu_tien`` before ``thuong``;
6. ``default_content`` in rotation when idle, at most every ``default_every`` seconds.
Withdrawn manifests and stopped emergencies never play.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from device_agent.schedule import parse_time

PRIORITY_ORDER = {"khan_cap": 0, "uu_tien": 1, "thuong": 2}
KEEP_PLAYED_S = 8 * 86400


@dataclass(frozen=True)
class Choice:
    """One item to play now and why (``trigger`` is the play log's ``trigger``)."""

    item: dict[str, Any]
    trigger: str
    key: str


@dataclass
class PlanState:
    """What the planner remembers between decisions (persisted by the agent as JSON)."""

    seen: list[str] = field(default_factory=list)
    queue: list[str] = field(default_factory=list)
    played: dict[str, float] = field(default_factory=dict)
    emergency_last: dict[str, float] = field(default_factory=dict)
    emergencies: dict[str, dict[str, Any]] = field(default_factory=dict)
    emergency_issued: dict[str, str] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)
    last_check: float | None = None
    last_default_end: float = 0.0
    default_index: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PlanState":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def is_stream(item: dict[str, Any]) -> bool:
    """Whether an item is a relay stream (played live from its start to its end)."""
    return item.get("kind") == "stream"


def is_emergency(item: dict[str, Any]) -> bool:
    """Whether an item is an emergency (by kind or by ``khan_cap`` priority)."""
    return item.get("kind") == "emergency" or item.get("priority") == "khan_cap"


def is_live_session(item: dict[str, Any]) -> bool:
    """Whether an item is a live session (``live-<id>``, a stream that ends when the officer stops it)."""
    return is_stream(item) and str(item.get("item_id", "")).startswith("live-")


def is_emergency_stream(item: dict[str, Any]) -> bool:
    """Whether an item is an emergency live session (a ``khan_cap`` stream: it overrides everything)."""
    return is_stream(item) and item.get("priority") == "khan_cap"


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def in_range(local: datetime, start: str, end: str) -> bool:
    """Whether local wall time falls in ``[start, end)``; ranges may wrap midnight (22:00-05:00)."""
    m, a, b = local.hour * 60 + local.minute, _minutes(start), _minutes(end)
    return a <= m < b if a <= b else (m >= a or m < b)


def volume_percent(schedule: dict[str, Any] | None, now: float, tz: ZoneInfo) -> int:
    """The ``volume_profile`` percent for now (100 when no range applies)."""
    local = datetime.fromtimestamp(now, tz)
    for entry in (schedule or {}).get("volume_profile", []):
        try:
            if in_range(local, entry["from"], entry["to"]):
                return max(0, min(100, int(entry["percent"])))
        except (KeyError, TypeError, ValueError):
            continue
    return 100


def in_quiet_hours(schedule: dict[str, Any] | None, now: float, tz: ZoneInfo) -> bool:
    """Whether local time ``now`` falls in one of the schedule's ``quiet_hours`` ranges."""
    local = datetime.fromtimestamp(now, tz)
    for entry in (schedule or {}).get("quiet_hours", []):
        try:
            if in_range(local, entry["from"], entry["to"]):
                return True
        except (KeyError, TypeError, ValueError):
            continue
    return False


def quiet_from(schedule: dict[str, Any] | None, now: float, until: float, tz: ZoneInfo) -> float | None:
    """The first minute in ``[now, until)`` that falls in quiet hours (a stream stops there), or None."""
    t = now
    while t < until:
        if in_quiet_hours(schedule, t, tz):
            return t
        t = (t // 60 + 1) * 60
    return None


def _epoch(value: Any) -> float | None:
    t = parse_time(value)
    return None if t is None else t.timestamp()


def apply_emergency(state: PlanState, item: dict[str, Any], action: str, issued_at: str | None,
                    now: float) -> str:
    """Record a verified emergency message in ``state``.

    Messages are ordered by ``issued_at`` per item: a retained copy or an older message that arrives late (a
    ``play`` after its ``stop``) changes nothing.

    Returns:
        ``"duplicate"`` (nothing changed), ``"expired"`` (a ``play`` already over), ``"stopped"`` or ``"started"``.
    """
    issued = parse_time(issued_at)
    prev = parse_time(state.emergency_issued.get(item["item_id"]))
    if prev is not None and issued is not None and issued <= prev:
        return "duplicate"
    if issued_at is not None:
        state.emergency_issued[item["item_id"]] = issued_at
    if action == "stop":
        state.emergencies.pop(item["item_id"], None)
        state.stopped.extend(k for k in (item["item_id"], item["manifest_hash"]) if k not in state.stopped)
        return "stopped"
    expires = _epoch(item.get("expires_at"))
    if expires is not None and expires <= now:
        return "expired"
    state.emergencies[item["item_id"]] = item
    state.stopped = [k for k in state.stopped if k not in (item["item_id"], item["manifest_hash"])]
    return "started"


class Planner:
    """Chooses the next item; the agent calls :meth:`choose`, plays, then :meth:`record`."""

    def __init__(self, *, medium: str, tz: ZoneInfo, slots: list[str], play_on_arrival: bool = True,
                 default_every: float = 1800.0, late_tolerance: float = 900.0) -> None:
        self.medium = medium  # "audio" (loudspeaker) or "slides" (e-board)
        self.tz = tz
        self.slots = sorted(slots)
        self.play_on_arrival = play_on_arrival
        self.default_every = default_every
        self.late = late_tolerance

    def playable(self, item: dict[str, Any]) -> bool:
        """Whether this device's medium can play the item (audio for a speaker, slides for a board)."""
        if is_stream(item):
            return self.medium == "audio" and bool((item.get("stream") or {}).get("url"))
        return bool(item.get("audio")) if self.medium == "audio" else bool(item.get("slides"))

    def _valid(self, item: dict[str, Any], schedule: dict[str, Any] | None, state: PlanState, now: float) -> bool:
        blocked = set(state.stopped) | set((schedule or {}).get("withdrawn", []))
        if item["manifest_hash"] in blocked or item["item_id"] in blocked:
            return False
        expires = _epoch(item.get("expires_at"))
        if expires is None and schedule is not None:
            expires = _epoch(schedule.get("window", {}).get("until"))
        return (expires is None or now < expires) and self.playable(item)

    def emergencies(self, schedule: dict[str, Any] | None, state: PlanState) -> list[dict[str, Any]]:
        """Emergency items from MQTT and the schedule, MQTT first, each once."""
        out: dict[str, dict[str, Any]] = dict(state.emergencies)
        for item in (schedule or {}).get("items", []):
            if is_emergency(item) and not is_stream(item):  # emergency streams: see :meth:`live_stream`
                out.setdefault(item["item_id"], item)
        return list(out.values())

    def choose(self, schedule: dict[str, Any] | None, state: PlanState, now: float,
               available: Any = lambda item: True) -> tuple[Choice | None, float]:
        """The item to play now (or None) and the clock time at which to ask again.

        Args:
            available: ``item -> bool``, whether the item's files are cached.
        """
        wake = [now + 3600.0]
        override = self.live_stream(schedule, state, now, wake, emergency=True)
        if override is not None and available(override):  # quiet hours do not silence it
            return Choice(override, "emergency", f"{override['item_id']}@{override['starts_at']}"), now
        for item in self.emergencies(schedule, state):
            if not self._valid(item, schedule, state, now) or not available(item):
                continue
            starts = _epoch(item.get("starts_at"))
            if starts is not None and starts > now:
                wake.append(starts)
                continue
            last_start = state.emergency_last.get(item["item_id"])
            repeat = item.get("repeat_every_s")
            if last_start is None:
                return Choice(item, "emergency", item["item_id"]), now
            if repeat:
                due = last_start + repeat
                if now >= due:
                    return Choice(item, "emergency", item["item_id"]), now
                wake.append(due)

        everything = [i for i in (schedule or {}).get("items", []) if not is_emergency(i)]
        items = [i for i in everything if not is_stream(i)]
        self._update_queue(items, schedule, state, now, wake)
        if in_quiet_hours(schedule, now, self.tz):
            return None, min(wake)

        stream = self.live_stream(schedule, state, now, wake)
        if stream is not None and available(stream):
            return Choice(stream, "schedule", f"{stream['item_id']}@{stream['starts_at']}"), now

        for item in items:
            starts = _epoch(item.get("starts_at"))
            if starts is None or not self._valid(item, schedule, state, now):
                continue
            key = f"{item['item_id']}@{item['starts_at']}"
            if starts > now:
                wake.append(starts)
            elif now <= starts + self.late and key not in state.played and available(item):
                return Choice(item, "schedule", key), now

        by_id = {i["item_id"]: i for i in items}
        for item_id in list(state.queue):
            item = by_id.get(item_id)
            if item is None or not self._valid(item, schedule, state, now):
                state.queue.remove(item_id)
                continue
            if available(item):
                state.queue.remove(item_id)
                return Choice(item, "schedule", f"{item_id}@{now:.0f}"), now

        defaults = [i for i in (schedule or {}).get("default_content", [])
                    if self._valid(i, schedule, state, now) and available(i)]
        if defaults:
            due = state.last_default_end + self.default_every
            if now >= due:
                item = defaults[state.default_index % len(defaults)]
                return Choice(item, "default", f"default:{item['item_id']}@{now:.0f}"), now
            wake.append(due)
        return None, min(wake)

    def live_stream(self, schedule: dict[str, Any] | None, state: PlanState, now: float,
                    wake: list[float] | None = None, *, emergency: bool = False) -> dict[str, Any] | None:
        """The stream on the air now (the first in the schedule, if two), adding later starts to ``wake``:
        with ``emergency`` only emergency live sessions, else only the other streams (relays, live)."""
        found = None
        for item in (schedule or {}).get("items", []):
            if not is_stream(item) or is_emergency(item) != emergency or not self._valid(item, schedule, state, now):
                continue
            starts = _epoch(item.get("starts_at"))
            if starts is not None and starts > now:
                if wake is not None:
                    wake.append(starts)
            elif found is None:
                found = item
        return found

    def next_stream_start(self, schedule: dict[str, Any] | None, state: PlanState, now: float) -> float | None:
        """When the next relay stream starts (None: none ahead in the schedule)."""
        starts = [t for t in (_epoch(i.get("starts_at")) for i in (schedule or {}).get("items", [])
                              if is_stream(i) and self._valid(i, schedule, state, now)) if t is not None and t > now]
        return min(starts) if starts else None

    def _update_queue(self, items: list[dict[str, Any]], schedule: dict[str, Any] | None, state: PlanState,
                      now: float, wake: list[float]) -> None:
        """Queue new bulletins on arrival and all valid ones at each daily slot crossed since the last check."""
        loose = [i for i in items if i.get("starts_at") is None and self._valid(i, schedule, state, now)]
        loose.sort(key=lambda i: PRIORITY_ORDER.get(i["priority"], 9))
        seen = set(state.seen)
        for item in loose:
            if item["item_id"] not in seen:
                state.seen.append(item["item_id"])
                if self.play_on_arrival and item["item_id"] not in state.queue:
                    state.queue.append(item["item_id"])
        last = state.last_check if state.last_check is not None and state.last_check <= now else now
        for slot in self._slots_between(last, now):
            if now - slot <= self.late:
                for item in loose:
                    if item["item_id"] not in state.queue:
                        state.queue.append(item["item_id"])
        state.queue.sort(key=lambda i: next((PRIORITY_ORDER.get(x["priority"], 9) for x in loose
                                             if x["item_id"] == i), 9))
        state.last_check = now
        nxt = self._next_slot(now)
        if nxt is not None:
            wake.append(nxt)
        live = {i["item_id"] for i in items} | set(state.emergencies)
        state.seen = [s for s in state.seen if s in live]
        state.played = {k: v for k, v in state.played.items() if now - v < KEEP_PLAYED_S}

    def _slots_between(self, after: float, until: float) -> list[float]:
        """Slot times t with ``after < t <= until`` (at most 8 days back)."""
        if not self.slots or until <= after:
            return []
        start = max(after, until - 8 * 86400)
        day = datetime.fromtimestamp(start, self.tz).date()
        last_day = datetime.fromtimestamp(until, self.tz).date()
        out = []
        while day <= last_day:
            for slot in self.slots:
                h, m = slot.split(":")
                t = datetime.combine(day, time(int(h), int(m)), self.tz).timestamp()
                if after < t <= until:
                    out.append(t)
            day += timedelta(days=1)
        return out

    def _next_slot(self, now: float) -> float | None:
        found = self._slots_between(now, now + 2 * 86400)
        return found[0] if found else None

    def record(self, choice: Choice, state: PlanState, started: float, ended: float) -> None:
        """Remember a finished (or interrupted) play so it is not repeated too early."""
        state.played[choice.key] = started
        if choice.trigger == "emergency":
            state.emergency_last[choice.item["item_id"]] = started  # repeats run start to start
        elif choice.trigger == "default":
            state.last_default_end = ended
            state.default_index += 1
