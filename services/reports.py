"""Periodic reports (Circular 02/2023 rhythm) for one area, rolled up through the area tree: bulletins produced
and aired by priority, language and issuing level; minutes aired per commune; coverage of each bulletin;
on-time rate; emergency time-to-air; device uptime; citizen feedback (``services.feedback``).

Figures come from the rollups (``play_daily``, ``play_firsts``, ``device_state_changes``), kept current by the
reports flow, so a province's quarter reads thousands of rows. Rendering is in ``services.report_render``.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from domain.areas import Area
from domain.clock import as_utc
from domain.errors import NotFound
from domain.priority import Priority
from domain.reports import Period, cut_off, descendants, leaves, parse_period, percentile, uptime_seconds
from services import auth, feedback_adapter, live
from settings import get_settings
from storage.repositories import reports as repo

VN_OFFSET = repo.VN_OFFSET
ON_TIME_DEFAULT = timedelta(hours=24)  # a bulletin without an expiry is on time when aired within a day


@dataclass(frozen=True, slots=True)
class BulletinLine:
    package_id: int
    title: str
    priority: str
    level: str
    languages: tuple[str, ...]
    published_at: datetime
    communes: int
    communes_played: int
    devices: int
    devices_played: int
    on_time: int
    languages_aired: tuple[str, ...] = ()  # the languages whose variant a device in reach played


@dataclass(frozen=True, slots=True)
class CommuneLine:
    code: str
    name: str
    parent: str
    devices: int
    plays: int
    minutes: float
    uptime_pct: float | None
    bulletins: int = 0  # bulletins of the period that reached the commune
    bulletins_aired: int = 0  # of those, the ones a device of the commune played

    @property
    def aired_pct(self) -> float | None:
        """The share of the bulletins reaching the commune that it aired (None: no devices, or no bulletin)."""
        return _pct(self.bulletins_aired, self.bulletins) if self.devices else None


@dataclass(frozen=True, slots=True)
class ReportData:
    period: Period
    area: Area
    cut_off: date
    generated_at: datetime
    headline: dict[str, Any]
    by_priority: dict[str, tuple[int, int]]
    by_language: dict[str, tuple[int, int]]  # language -> (bulletins produced in it, aired in it)
    language_plays: dict[str, tuple[int, int, float]]  # language -> (plays, devices x bulletins, minutes)
    by_level: dict[str, tuple[int, int]]
    bulletins: tuple[BulletinLine, ...]
    communes: tuple[CommuneLine, ...]
    plays_per_day: tuple[tuple[str, int], ...]
    emergency_latency_s: tuple[float, ...]
    feedback: dict[str, Any]


def resolve_period(text: str, *, today: date) -> Period:
    return parse_period(text, today=today)


def _pct(a: int | float, b: int | float) -> float | None:
    return round(100.0 * a / b, 1) if b else None


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 1) if xs else None


def compute(s: Session, period: Period, area_code: str, *, now: datetime) -> ReportData:
    """The report's figures for ``area_code`` and everything below it.

    Raises:
        NotFound: unknown area.
    """
    tree: dict[str, Area] = auth.area_tree(s)
    if area_code not in tree:
        raise NotFound(f"không có địa bàn mã '{area_code}'")
    today = (now + VN_OFFSET).date()
    last = cut_off(period, today)
    start_utc, end_utc = repo.day_start_utc(period.start), repo.day_start_utc(last + timedelta(days=1))
    parent_of = {c: a.parent_code for c, a in tree.items()}
    inside = descendants(area_code, parent_of)
    communes = leaves(inside, parent_of)
    devices = [d for d in repo.device_rows(s) if d.area_code in inside]
    devices_in: dict[str, list[int]] = {}
    for d in devices:
        devices_in.setdefault(d.area_code, []).append(d.id)
    chains = {x: set(repo_chain(x, parent_of)) for x in inside}
    reach_cache: dict[tuple[str, ...], set[str]] = {}

    def reached(codes: tuple[str, ...]) -> set[str]:
        """The areas inside the report's area that a bulletin targeted at ``codes`` reaches."""
        if codes not in reach_cache:
            wanted = set(codes)
            reach_cache[codes] = {x for x, chain in chains.items() if chain & wanted}
        return reach_cache[codes]

    pubs = [p for p in repo.published_between(s, start_utc, end_utc) if reached(tuple(p[4]))]
    default_em = timedelta(minutes=get_settings().emergency_default_minutes)

    def window_end(priority: str, expires: datetime | None, published: datetime) -> datetime:
        return expires or published + (default_em if priority == Priority.KHAN_CAP else ON_TIME_DEFAULT)

    counts: dict[str, list[Any]] = {}  # manifest -> [(area, devices, on time)]
    for manifest, area, n, on_time in repo.bulletin_area_counts(
            s, [(p[1], p[7], window_end(p[3], p[6], p[7])) for p in pubs if p[1]], end_utc):
        counts.setdefault(manifest, []).append((area, int(n), int(on_time or 0)))
    by_lang: dict[str, list[Any]] = {}  # manifest -> [(language, area, devices, plays, seconds)]
    for manifest, lang, area, n, plays, secs in repo.languages_for(s, [p[1] for p in pubs if p[1]], end_utc):
        by_lang.setdefault(manifest, []).append((lang, area, int(n), int(plays or 0), float(secs or 0)))
    language_plays: dict[str, list[float]] = {}
    emergency_firsts: dict[str, list[Any]] = {}
    for row in repo.firsts_for(s, [p[1] for p in pubs if p[1] and p[3] == Priority.KHAN_CAP], end_utc):
        emergency_firsts.setdefault(row[0], []).append(row)
    lines: list[BulletinLine] = []
    reaching: dict[str, list[int]] = {}  # commune -> [bulletins reaching it, aired there]
    latency: list[float] = []
    ack_latency: list[float] = []
    emergency_pub = {p[1]: (p[7], reached(tuple(p[4]))) for p in pubs if p[1] and p[3] == Priority.KHAN_CAP}
    device_area = {d.id: d.area_code for d in devices}
    for ack in repo.acks_of(s, list(emergency_pub)):
        published_at, hit = emergency_pub[ack.manifest_hash]
        if device_area.get(ack.device_id) in hit:
            ack_latency.append(max(0.0, (as_utc(ack.acked_at) - published_at).total_seconds()))
    for pid, manifest, title, priority, codes, langs, _expires, published, _status in pubs:
        areas_hit = reached(tuple(codes))
        targets = sum(len(devices_in.get(c, ())) for c in areas_hit)
        played = [(a, n, ok) for a, n, ok in counts.get(manifest or "", []) if a in areas_hit]
        aired_at = {a for a, _, _ in played}
        for c in areas_hit & communes:
            reach = reaching.setdefault(c, [0, 0])
            reach[0] += 1
            reach[1] += c in aired_at
        if priority == Priority.KHAN_CAP:
            latency += [max(0.0, (as_utc(r[3]) - published).total_seconds())
                        for r in emergency_firsts.get(manifest or "", []) if r[2] in areas_hit]
        aired_in = set()
        for lang, area, n, plays, secs in by_lang.get(manifest or "", []):
            if area in areas_hit:
                aired_in.add(lang)
                heard = language_plays.setdefault(lang, [0, 0, 0.0])
                heard[0] += plays
                heard[1] += n
                heard[2] += secs
        known = [c for c in codes if c in tree]
        widest = min(known, key=lambda c: len(repo_chain(c, parent_of))) if known else None
        lines.append(BulletinLine(pid, title, priority, tree[widest].level.value if widest else "",
                                  tuple(langs), published, len(areas_hit & communes),
                                  len({a for a, _, _ in played} & communes), targets,
                                  sum(n for _, n, _ in played), sum(ok for _, _, ok in played),
                                  tuple(sorted(aired_in))))
    by_priority: dict[str, tuple[int, int]] = {}
    by_language: dict[str, tuple[int, int]] = {}
    by_level: dict[str, tuple[int, int]] = {}
    for b in lines:
        aired = int(b.devices_played > 0)
        for table, key in [(by_priority, b.priority), (by_level, b.level)]:
            n, a = table.get(key, (0, 0))
            table[key] = (n + 1, a + aired)
        for lang in b.languages:  # aired in a language: that language's variant was played
            n, a = by_language.get(lang, (0, 0))
            by_language[lang] = (n + 1, a + int(lang in b.languages_aired))

    daily = repo.daily_by_area(s, inside, period.start, last)
    per_day: dict[str, int] = {}
    per_area: dict[str, list[float]] = {}
    for code, day, plays, _done, _cut, seconds, _n in daily:
        per_day[day] = per_day.get(day, 0) + int(plays)
        acc = per_area.setdefault(code, [0, 0.0])
        acc[0] += int(plays)
        acc[1] += float(seconds or 0)
    uptime = device_uptime(s, [d.id for d in devices], start_utc, min(end_utc, now))
    commune_lines = []
    for code in sorted(communes, key=lambda c: (tree[c].parent_code or "", c)):
        ids = devices_in.get(code, [])
        plays, secs = per_area.get(code, [0, 0.0])
        ups = [uptime[i] for i in ids if i in uptime]
        parent = tree[code].parent_code
        reached_n, aired_n = reaching.get(code, [0, 0])
        commune_lines.append(CommuneLine(code, tree[code].name, tree[parent].name if parent else "", len(ids),
                                         int(plays), round(secs / 60.0, 1), _mean(ups), reached_n, aired_n))
    live_figures = _live_figures(s, start_utc, end_utc, reached, {d.id: d.area_code for d in devices})
    played_pairs = sum(b.devices_played for b in lines)
    feedback = feedback_adapter.report_figures(s, area_code, start_utc, end_utc, now)
    headline = {
        "bulletins": len(lines), "bulletins_aired": sum(1 for b in lines if b.devices_played),
        "communes": len(communes), "communes_with_devices": sum(1 for c in communes if devices_in.get(c)),
        "devices": len(devices),
        "commune_coverage_pct": _mean([100.0 * b.communes_played / b.communes for b in lines if b.communes]),
        "device_coverage_pct": _mean([100.0 * b.devices_played / b.devices for b in lines if b.devices]),
        "on_time_pct": _pct(sum(b.on_time for b in lines), played_pairs),
        "minutes_aired": round(sum(v[1] for v in per_area.values()) / 60.0, 1),
        "plays": sum(per_day.values()),
        "emergency_p50_s": percentile(latency, 0.5), "emergency_p90_s": percentile(latency, 0.9),
        "emergency_ack_p50_s": percentile(ack_latency, 0.5), "emergency_ack_p90_s": percentile(ack_latency, 0.9),
        "uptime_pct": _mean(list(uptime.values())),
        **live_figures,
    }
    per_language = {lang: (int(v[0]), int(v[1]), round(v[2] / 60.0, 1)) for lang, v in sorted(language_plays.items())}
    return ReportData(period, tree[area_code], last, now, headline, by_priority, by_language, per_language, by_level,
                      tuple(lines), tuple(commune_lines), tuple(sorted(per_day.items())), tuple(latency), feedback)


def _live_figures(s: Session, start: datetime, end: datetime, reached: Any,
                  device_area: dict[int, str]) -> dict[str, Any]:
    """Live sessions of the period that reach the area (``reached(codes)``: the areas inside it a target
    reaches): how many, how many emergencies, how many a device inside played, device airings and minutes."""
    hits = {live.session_hash(r): (r, reached(tuple(r.area_codes))) for r in live.sessions_between(s, start, end)}
    hits = {h: v for h, v in hits.items() if v[1]}
    aired, pairs, seconds = set(), 0, 0.0
    for manifest, device_id, _plays, _done, _first, secs in repo.stream_plays(s, hits):
        if device_area.get(device_id) in hits[manifest][1]:
            aired.add(manifest)
            pairs += 1
            seconds += secs
    return {"live_sessions": len(hits), "live_emergency": sum(1 for r, _ in hits.values() if r.emergency),
            "live_sessions_aired": len(aired), "live_device_plays": pairs, "live_minutes": round(seconds / 60.0, 1)}


def repo_chain(code: str, parent_of: dict[str, str | None]) -> list[str]:
    out: list[str] = []
    cur: str | None = code
    while cur is not None:
        out.append(cur)
        cur = parent_of.get(cur)
    return out


def device_uptime(s: Session, device_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    """Percent of the time each device was online within [start, end), counted from its first recorded state
    when that came after ``start`` (devices with no recorded state are left out)."""
    changes: dict[int, list[tuple[datetime, bool]]] = {}
    for device_id, at, online in repo.state_changes(s, device_ids, end):
        changes.setdefault(device_id, []).append((as_utc(at), bool(online)))
    out = {}
    for device_id, ch in changes.items():
        before = [o for t, o in ch if t <= start]
        begin = start if before else ch[0][0]
        if end <= begin:
            continue
        initial = before[-1] if before else ch[0][1]
        out[device_id] = 100.0 * uptime_seconds(ch, begin, end, initial) / (end - begin).total_seconds()
    return out

