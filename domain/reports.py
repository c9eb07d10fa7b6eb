"""Reporting periods, deadlines and device telemetry rules. Pure (no I/O).

Periods follow Circular 02/2023/TT-BTTTT's rhythm: monthly (due by the 15th of the month), quarterly (by the
6th of the quarter's last month), half-year (by 6 June) and year (by 25 November). A report generated before
its period ends covers the data up to its cut-off and says so ("số liệu tính đến ngày ...").
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from domain.errors import InvalidInput


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"
    RANGE = "range"

    @property
    def label_vi(self) -> str:
        return {"month": "tháng", "quarter": "quý", "half": "6 tháng", "year": "năm",
                "range": "giai đoạn"}[self.value]


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period: calendar days ``start`` .. ``end`` inclusive (Vietnam calendar)."""

    kind: PeriodKind
    label: str  # canonical text: 2026-07, 2026-Q3, 2026-H1, 2026, 2026-07-01..2026-07-31
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def title_vi(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"tháng {self.start.month:02d} năm {self.start.year}"
        if self.kind is PeriodKind.QUARTER:
            return f"quý {['I', 'II', 'III', 'IV'][(self.start.month - 1) // 3]} năm {self.start.year}"
        if self.kind is PeriodKind.HALF:
            return f"6 tháng {'đầu' if self.start.month == 1 else 'cuối'} năm {self.start.year}"
        if self.kind is PeriodKind.YEAR:
            return f"năm {self.start.year}"
        return f"từ ngày {self.start:%d/%m/%Y} đến ngày {self.end:%d/%m/%Y}"

    def deadline(self) -> date | None:
        """When the report is due under Circular 02/2023 (None for a free range)."""
        y = self.start.year
        if self.kind is PeriodKind.MONTH:
            return date(y, self.start.month, 15)
        if self.kind is PeriodKind.QUARTER:
            return date(y, self.end.month, 6)
        if self.kind is PeriodKind.HALF:
            return date(y, 6, 6) if self.start.month == 1 else date(y, 12, 6)
        if self.kind is PeriodKind.YEAR:
            return date(y, 11, 25)
        return None


def _month_end(y: int, m: int) -> date:
    return (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)


_FORMS = [
    (re.compile(r"^(\d{4})-(\d{2})$"), PeriodKind.MONTH),
    (re.compile(r"^(\d{4})-[Qq]([1-4])$"), PeriodKind.QUARTER),
    (re.compile(r"^(\d{4})-[Hh]([12])$"), PeriodKind.HALF),
    (re.compile(r"^(\d{4})$"), PeriodKind.YEAR),
]


def parse_period(text: str, *, today: date) -> Period:
    """Parse ``2026-07``, ``2026-Q3``, ``2026-H1``, ``2026`` or ``2026-07-01..2026-07-31``.

    Raises:
        InvalidInput: unreadable, reversed, or starting after ``today`` (nothing to report yet).
    """
    raw = (text or "").strip()
    period: Period | None = None
    for pattern, kind in _FORMS:
        m = pattern.match(raw)
        if not m:
            continue
        y = int(m.group(1))
        if not 2000 <= y <= 2100:
            raise InvalidInput(f"kỳ báo cáo '{raw}': năm {y} không hợp lệ")
        if kind is PeriodKind.MONTH:
            mo = int(m.group(2))
            if not 1 <= mo <= 12:
                raise InvalidInput(f"kỳ báo cáo '{raw}': tháng {mo} không hợp lệ")
            period = Period(kind, f"{y}-{mo:02d}", date(y, mo, 1), _month_end(y, mo))
        elif kind is PeriodKind.QUARTER:
            q = int(m.group(2))
            period = Period(kind, f"{y}-Q{q}", date(y, 3 * q - 2, 1), _month_end(y, 3 * q))
        elif kind is PeriodKind.HALF:
            h = int(m.group(2))
            period = Period(kind, f"{y}-H{h}", date(y, 1 if h == 1 else 7, 1), _month_end(y, 6 if h == 1 else 12))
        else:
            period = Period(kind, f"{y}", date(y, 1, 1), date(y, 12, 31))
        break
    if period is None and ".." in raw:
        a, _, b = raw.partition("..")
        try:
            start, end = date.fromisoformat(a.strip()), date.fromisoformat(b.strip())
        except ValueError:
            raise InvalidInput(f"kỳ báo cáo '{raw}': ngày phải viết dạng YYYY-MM-DD") from None
        if end < start:
            raise InvalidInput(f"kỳ báo cáo '{raw}': ngày kết thúc trước ngày bắt đầu")
        if (end - start).days > 366:
            raise InvalidInput(f"kỳ báo cáo '{raw}': dài quá một năm")
        period = Period(PeriodKind.RANGE, f"{start}..{end}", start, end)
    if period is None:
        raise InvalidInput(f"kỳ báo cáo '{raw}' không hợp lệ; ví dụ: 2026-07, 2026-Q3, 2026-H1, 2026 "
                           "hoặc 2026-07-01..2026-07-31")
    if period.start > today:
        raise InvalidInput(f"kỳ báo cáo {period.label} chưa bắt đầu (hôm nay {today:%d/%m/%Y})")
    return period


def cut_off(period: Period, today: date) -> date:
    """The last day whose data a report made ``today`` can include: the period's end, or yesterday when the
    period is still running (today is not over yet), never before the period's first day."""
    return max(period.start, min(period.end, today - timedelta(days=1)))


def periods_due(today: date, *, lead_days: int = 3) -> list[Period]:
    """The periods whose report should exist by ``today``: the deadline falls within ``lead_days`` from today
    (so the scheduled flow prepares it a few days early) and the period has begun."""
    out: list[Period] = []
    y = today.year
    candidates = [f"{y}-{today.month:02d}", f"{y}-Q{(today.month - 1) // 3 + 1}", f"{y}-H1", f"{y}-H2", f"{y}"]
    for text in candidates:
        try:
            p = parse_period(text, today=today)
        except InvalidInput:
            continue  # not begun
        d = p.deadline()
        if d is not None and 0 <= (d - today).days <= lead_days:
            out.append(p)
    return out


# --- device telemetry -----------------------------------------------------------------------------------

NETWORK_TYPES = ("ethernet", "wifi", "cellular", "other")
MAX_UPTIME_S = 10 * 365 * 86400
TEMP_RANGE = (-40.0, 120.0)


@dataclass(frozen=True, slots=True)
class Health:
    """What a box says about itself (each field optional) and how many values it sent were refused."""

    uptime_s: int | None = None
    reboots: int | None = None
    temperature_c: float | None = None
    network: str | None = None
    reported_at: datetime | None = None
    rejected: tuple[str, ...] = ()


def parse_health(body: Any, *, now: datetime, skew_s: int = 300) -> Health:
    """Read the optional ``health`` member of an inventory. An absurd value is dropped and named in
    ``rejected`` (the rest of the report is kept): negative or > 10 years of uptime, negative reboots,
    temperatures outside -40..120 °C, unknown network types, report times in the future.

    Raises:
        InvalidInput: ``health`` is present but not an object.
    """
    if body is None:
        return Health()
    if not isinstance(body, dict):
        raise InvalidInput("health: an object")
    rejected: list[str] = []

    def number(name: str, lo: float, hi: float, integer: bool) -> Any:
        v = body.get(name)
        if v is None:
            return None
        ok = isinstance(v, int | float) and not isinstance(v, bool) and (not integer or float(v).is_integer())
        if not ok or not lo <= v <= hi:
            rejected.append(name)
            return None
        return int(v) if integer else round(float(v), 1)

    uptime = number("uptime_s", 0, MAX_UPTIME_S, True)
    reboots = number("reboots", 0, 100_000, True)
    temp = number("temperature_c", TEMP_RANGE[0], TEMP_RANGE[1], False)
    network = body.get("network")
    if network is not None and network not in NETWORK_TYPES:
        rejected.append("network")
        network = None
    reported = None
    if body.get("reported_at") is not None:
        try:
            raw = str(body["reported_at"])
            reported = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if reported.tzinfo is None or reported.astimezone(UTC) > now + timedelta(seconds=skew_s):
                raise ValueError
            reported = reported.astimezone(UTC)
        except ValueError:
            rejected.append("reported_at")
            reported = None
    return Health(uptime, reboots, temp, network, reported, tuple(rejected))


_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def item_language(item_id: str) -> str | None:
    """The language of a played item, from the id the device schedule gave it: ``<manifest>.<lang>`` for a
    bulletin (``default-<manifest>.<lang>`` as default content), ``program-<id>-<date>-<area>-<lang>`` for a
    programme edition. None when the id carries no language."""
    tail = item_id.rsplit(".", 1)[-1] if "." in item_id else item_id.rsplit("-", 1)[-1] \
        if item_id.startswith("program-") else ""
    return tail if _LANGUAGE.match(tail) else None


class DeviceState(StrEnum):
    ONLINE = "online"
    STALE = "stale"  # heard from recently, but missed several polls
    OFFLINE = "offline"


def device_state(last_seen: datetime | None, now: datetime, *, online_s: float, offline_s: float) -> DeviceState:
    """Online when heard from within ``online_s``, offline after ``offline_s`` (or never), stale between."""
    if last_seen is None:
        return DeviceState.OFFLINE
    age = (now - last_seen).total_seconds()
    if age <= online_s:
        return DeviceState.ONLINE
    return DeviceState.STALE if age <= offline_s else DeviceState.OFFLINE


def uptime_seconds(changes: list[tuple[datetime, bool]], start: datetime, end: datetime,
                   initial_up: bool) -> float:
    """Seconds online within [start, end) given state changes (time, is_online) sorted by time and the state
    at ``start``."""
    up, at, total = initial_up, start, 0.0
    for when, online in changes:
        if when <= start:
            continue
        if when >= end:
            break
        if up:
            total += (when - at).total_seconds()
        up, at = online, when
    if up:
        total += (end - at).total_seconds()
    return total


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by linear interpolation; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# --- aggregation through the area tree (parent links only; no level is assumed) ---------------------------

def descendants(code: str, parent_of: dict[str, str | None]) -> set[str]:
    """``code`` and every area below it, following parent links."""
    children: dict[str, list[str]] = {}
    for c, p in parent_of.items():
        if p is not None:
            children.setdefault(p, []).append(c)
    out, stack = set(), [code]
    while stack:
        c = stack.pop()
        if c not in out:
            out.add(c)
            stack.extend(children.get(c, ()))
    return out


def child_towards(code: str, top: str, parent_of: dict[str, str | None]) -> str | None:
    """The direct child of ``top`` on the way up from ``code`` (``code`` itself when its parent is ``top``);
    None when ``code`` is ``top`` or not below it."""
    current: str | None = code
    while current is not None:
        parent = parent_of.get(current)
        if parent == top:
            return current
        current = parent
    return None


def leaves(codes: set[str], parent_of: dict[str, str | None]) -> set[str]:
    """The codes in ``codes`` that have no child: the communes, whatever the number of tiers above them."""
    parents = {p for c, p in parent_of.items() if p is not None and c in codes}
    return {c for c in codes if c not in parents}
