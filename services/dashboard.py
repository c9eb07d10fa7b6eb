"""The operations dashboard for one area: devices online/stale/offline, emergencies in force with
acknowledgements, today's programme scheduled vs played, work queues and storage left; with drill-down to the
area's children (through parent links, whatever the number of tiers), one device and its play log.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from domain.areas import Area
from domain.errors import NotFound
from domain.reports import DeviceState, child_towards, descendants, device_state
from services import auth, feedback_adapter, progress
from services import devices as device_service
from services.rollups import Thresholds
from settings import get_settings
from storage.models import UserRecord
from storage.repositories import reports as repo
from storage.repositories import users

LOW_STORAGE_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: int
    name: str
    area_code: str
    kind: str
    state: DeviceState
    last_seen_at: datetime | None
    since: datetime | None  # when the current state began, when recorded
    free_bytes: int | None
    temperature_c: float | None
    network: str | None


@dataclass(frozen=True, slots=True)
class AreaSummary:
    code: str
    name: str
    devices: int
    online: int
    stale: int
    offline: int


@dataclass(frozen=True, slots=True)
class EmergencyRow:
    package_id: int
    title: str
    published_at: datetime
    expires_at: datetime
    devices: int
    acked: int
    played: int


@dataclass(frozen=True, slots=True)
class ProgrammeRow:
    area_code: str
    area_name: str
    program: str
    starts_at: datetime
    language: str
    status: str
    devices: int
    devices_played: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    area: Area
    generated_at: datetime
    counts: dict[str, int]
    children: tuple[AreaSummary, ...]
    devices: tuple[DeviceRow, ...]  # this area's devices when it has no children (a commune), else problem ones
    emergencies: tuple[EmergencyRow, ...]
    programme: tuple[ProgrammeRow, ...]
    queues: dict[str, int]
    low_storage: tuple[DeviceRow, ...]


def may_view(s: Session, username: str, area_code: str) -> UserRecord:
    """The user, when the area is within what they may see.

    Raises:
        NotFound: unknown user or area (an area outside the user's reach reads as unknown too).
    """
    user = users.get_user(s, username)
    tree = auth.area_tree(s)
    if area_code not in tree:
        raise NotFound(f"không có địa bàn mã '{area_code}'")
    visible = auth.visible_area_codes(s, user)
    if visible is not None and area_code not in visible:
        raise NotFound(f"không có địa bàn mã '{area_code}' trong phạm vi của bạn")
    return user


def home_area(s: Session, user: UserRecord) -> str | None:
    """The area a user's dashboard opens on: their widest membership's area (None: everywhere, pick a province)."""
    tree = auth.area_tree(s)
    codes = [m.area_code for m in users.memberships_of(user) if m.area_code in tree]
    if not codes:
        return None
    return min(codes, key=lambda c: (len(device_service.area_chain(c, tree)), c))


def _parents(tree: dict[str, Area]) -> dict[str, str | None]:
    return {c: a.parent_code for c, a in tree.items()}


def build(s: Session, area_code: str, *, now: datetime, thresholds: Thresholds | None = None) -> Dashboard:
    """Everything the dashboard shows for one area.

    Raises:
        NotFound: unknown area.
    """
    thresholds = thresholds or Thresholds.from_settings()
    tree = device_service.area_map(s)
    if area_code not in tree:
        raise NotFound(f"không có địa bàn mã '{area_code}'")
    parent_of = _parents(tree)
    inside = descendants(area_code, parent_of)
    online_after = now - timedelta(seconds=thresholds.online_s)
    offline_before = now - timedelta(seconds=thresholds.offline_s)
    counts = {st.value: 0 for st in DeviceState}
    per_area: dict[str, int] = {}
    per_child: dict[str, dict[str, int]] = {}
    for area, state, n in repo.device_state_counts(s, online_after, offline_before):
        if area not in inside:
            continue
        counts[state] += n
        per_area[area] = per_area.get(area, 0) + n
        child = child_towards(area, area_code, parent_of)
        if child is not None:
            per_child.setdefault(child, {x.value: 0 for x in DeviceState})[state] += n
    children = tuple(AreaSummary(code, tree[code].name, sum(c.values()), c["online"], c["stale"], c["offline"])
                     for code, c in sorted(per_child.items(), key=lambda kv: (-kv[1]["offline"], kv[0])))
    has_children = any(p == area_code for p in parent_of.values())
    codes = [c for c in inside if c in per_area]
    shown = repo.device_rows(s, area_codes=codes, seen_before=online_after if has_children else None, limit=200)
    low = repo.device_rows(s, area_codes=codes, free_below=LOW_STORAGE_BYTES, limit=50)
    since = repo.last_change_at(s, {r.id for r in shown + low})

    def row(r: Any) -> DeviceRow:
        st = device_state(r.last_seen_at, now, online_s=thresholds.online_s, offline_s=thresholds.offline_s)
        return DeviceRow(r.id, r.name, r.area_code, r.kind, st, r.last_seen_at, since.get(r.id), r.free_bytes,
                         r.temperature_c, r.network)

    return Dashboard(
        area=tree[area_code], generated_at=now, counts=counts, children=children,
        devices=tuple(row(r) for r in shown),
        emergencies=tuple(_emergencies(s, inside, tree, per_area, now)),
        programme=tuple(_programme(s, inside, tree, per_area, now)),
        queues=_queues(s, inside, area_code, now),
        low_storage=tuple(row(r) for r in low))


def _targets(area_codes: list[str], inside: set[str], tree: dict[str, Area]) -> set[str]:
    """The areas of ``inside`` a package targeted at ``area_codes`` reaches."""
    parent_of = _parents(tree)
    reached: set[str] = set()
    for code in area_codes:
        if code in tree:
            reached |= descendants(code, parent_of)
    return reached & inside


def _emergencies(s: Session, inside: set[str], tree: dict[str, Area], per_area: dict[str, int],
                 now: datetime) -> list[EmergencyRow]:
    default = timedelta(minutes=get_settings().emergency_default_minutes)
    out = []
    for pid, manifest, title, areas, expires, published in repo.emergency_packages(
            s, published_after=now - timedelta(days=7)):
        until = expires or published + default
        if until <= now:
            continue
        reached = _targets(list(areas), inside, tree)
        if not reached:
            continue
        acked = sum(1 for a in repo.device_areas_acked(s, manifest) if a in reached) if manifest else 0
        played = sum(1 for a in repo.device_areas_played(s, manifest) if a in reached) if manifest else 0
        out.append(EmergencyRow(pid, title, published, until, sum(per_area.get(a, 0) for a in reached), acked,
                                played))
    return out


def _programme(s: Session, inside: set[str], tree: dict[str, Area], per_area: dict[str, int],
               now: datetime) -> list[ProgrammeRow]:
    today = repo.vn_day(now)
    editions = [e for e in repo.editions_on(s, today) if e.area_code in inside]
    start = repo.day_start_utc(datetime.fromisoformat(today).date())
    played = repo.plays_per_manifest_since(s, {e.manifest_hash for e in editions if e.manifest_hash}, start)
    return [ProgrammeRow(area, tree[area].name, name, starts, lang, status, per_area.get(area, 0),
                         played.get(manifest or "", (0, 0))[1])
            for area, name, starts, status, manifest, lang in editions[:500]]


def _queues(s: Session, inside: set[str], area_code: str, now: datetime) -> dict[str, int]:
    to_approve = to_translate = 0
    for _pid, areas, blocked in repo.queue_rows(s):
        if set(areas) & inside:
            to_approve += 1
            to_translate += int(blocked or 0)
    dead = sum(1 for _id, areas in repo.dead_delivery_areas(s) if set(areas) & inside)
    # and packages whose publication run stopped before any delivery existed (every destination locked, none...)
    dead += len(progress.stopped_publications(
        s, [pid for pid, areas in repo.publishing_package_areas(s) if set(areas) & inside]))
    return {"to_approve": to_approve, "to_translate": to_translate, "failed_deliveries": dead,
            "overdue_feedback": feedback_adapter.overdue_count(s, area_code, now)}


@dataclass(frozen=True, slots=True)
class PlayRow:
    started_at: datetime
    ended_at: datetime | None
    completed: bool
    trigger: str
    title: str
    package_id: int | None


def device_detail(s: Session, device_id: int, *, now: datetime,
                  thresholds: Thresholds | None = None) -> tuple[dict[str, Any], list[PlayRow]]:
    """One device's status and health, and its newest plays with titles.

    Raises:
        NotFound: no such device.
    """
    from storage.repositories import devices as device_repo

    thresholds = thresholds or Thresholds.from_settings()
    d = device_repo.get_device(s, device_id)
    h = repo.health_of(s, [device_id]).get(device_id)
    info = {"id": d.id, "name": d.name, "area_code": d.area_code, "kind": d.kind, "status": d.status,
            "state": device_state(d.last_seen_at, now, online_s=thresholds.online_s,
                                  offline_s=thresholds.offline_s).value,
            "last_seen_at": d.last_seen_at, "since": repo.last_change_at(s, [d.id]).get(d.id),
            "agent_version": d.agent_version, "free_bytes": h.free_bytes if h else None,
            "uptime_s": h.uptime_s if h else None, "reboots_total": h.reboots_total if h else 0,
            "temperature_c": h.temperature_c if h else None, "network": h.network if h else None,
            "rejected_values": h.rejected_values if h else 0}
    rows = repo.device_plays(s, device_id)
    streams = stream_titles(s, [r[4] for r in rows if not r[6]])
    plays = [PlayRow(r[0], r[1], bool(r[2]), r[3], r[6] or streams.get(r[4], r[4]), r[7]) for r in rows]
    return info, plays


def stream_titles(s: Session, item_ids: list[str]) -> dict[str, str]:
    """Titles for the play log item ids of live sessions (``live-<id>``: the session's title) and relay
    airings (``relay-<slot>-<date>``: the station's name), which are no packages."""
    from storage.models_live import LiveSessionRecord
    from storage.repositories import relays as relay_repo

    out: dict[str, str] = {}
    live_ids = {int(i[5:]): i for i in item_ids if i.startswith("live-") and i[5:].isdigit()}
    if live_ids:
        for rec in s.query(LiveSessionRecord).filter(LiveSessionRecord.id.in_(live_ids)):
            out[live_ids[rec.id]] = rec.title
    sources = {r.id: r.name for r in relay_repo.list_sources(s)} if any(i.startswith("relay-") for i in item_ids) \
        else {}
    slots = {r.id: sources.get(r.source_id, "") for r in relay_repo.list_slots(s)} if sources else {}
    for item_id in item_ids:
        parts = item_id.split("-", 2)
        if parts[0] == "relay" and len(parts) == 3 and parts[1].isdigit() and slots.get(int(parts[1])):
            out[item_id] = slots[int(parts[1])]
    return out
