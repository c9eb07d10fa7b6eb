"""Proof of play per bulletin: which communes and devices played a package (first play, count, completed vs
interrupted), which should have and did not and why when known, and emergency time-to-air and
time-to-acknowledge.

Read straight from the play log (indexed by manifest hash), so a bulletin's page is exact the moment its logs
arrive; periodic reports use the rollups instead (``services.reports``).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from domain.areas import Area, is_within
from domain.packages import AssetKind, PackageStatus
from domain.priority import Priority
from domain.programs import ClockRange
from domain.reports import DeviceState, descendants, device_state, item_language, leaves, percentile
from services import devices as device_service
from services.programs import quiet_ranges
from services.rollups import Thresholds
from storage.models_devices import DeviceRecord
from storage.repositories import drafts, packages
from storage.repositories import reports as repo

# Why a device that should have played a bulletin did not (most specific first).
WHY_NOT_YET = "not_yet"  # embargoed: not due yet
WHY_NEVER_SEEN = "offline"  # not heard from since the bulletin was published
WHY_STORAGE = "storage"  # it reported less free space than the bulletin's audio needs
WHY_NOT_DOWNLOADED = "not_downloaded"  # polled since, but its inventory lacks the audio
WHY_QUIET = "quiet_hours"  # the bulletin's whole window fell in the area's quiet hours
WHY_UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DevicePlay:
    device_id: int
    name: str
    area_code: str
    state: DeviceState
    first_play: datetime | None
    plays: int
    completed: int
    interrupted: int
    acked_at: datetime | None
    why_not: str | None  # None when it played


@dataclass(frozen=True, slots=True)
class CommunePlay:
    area_code: str
    area_name: str
    devices: int
    devices_played: int
    first_play: datetime | None
    plays: int


@dataclass(frozen=True, slots=True)
class LanguagePlay:
    """How one language's variant of a bulletin aired among the devices it targets."""

    language: str
    devices_played: int
    communes_played: int
    plays: int


@dataclass(frozen=True, slots=True)
class Coverage:
    package_id: int
    title: str
    priority: str
    status: str
    manifest_hash: str | None
    published_at: datetime | None
    expires_at: datetime | None
    devices: tuple[DevicePlay, ...]
    communes: tuple[CommunePlay, ...]
    time_to_air_s: tuple[float, ...] = ()
    time_to_ack_s: tuple[float, ...] = ()
    reasons: dict[str, int] = field(default_factory=dict)
    languages: tuple[LanguagePlay, ...] = ()  # every language of the bulletin, aired or not
    area_codes: tuple[str, ...] = ()  # its targets

    @property
    def devices_played(self) -> int:
        return sum(1 for d in self.devices if d.first_play is not None)

    @property
    def communes_played(self) -> int:
        return sum(1 for c in self.communes if c.devices_played)

    def latency(self, values: tuple[float, ...]) -> dict[str, float | None]:
        return {"p50": percentile(list(values), 0.5), "p90": percentile(list(values), 0.9),
                "max": max(values) if values else None}


def _in_quiet(start: datetime, end: datetime, ranges: tuple[ClockRange, ...]) -> bool:
    """Whether every minute of [start, end) falls inside the quiet ranges (Vietnam wall clock)."""
    if not ranges or end <= start or end - start > timedelta(days=1):
        return False
    t = start + repo.VN_OFFSET
    stop = end + repo.VN_OFFSET
    while t < stop:
        if not any(r.contains(t.time()) for r in ranges):
            return False
        t += timedelta(minutes=5)
    return True


def _why_not(d: DeviceRecord, *, published: datetime | None, embargo: datetime | None, expires: datetime | None,
             now: datetime, audio: dict[str, tuple[str, int]], free: int | None, quiet: tuple[ClockRange, ...],
             emergency: bool) -> str:
    if embargo is not None and embargo > now:
        return WHY_NOT_YET
    since = published or embargo
    if d.last_seen_at is None or (since is not None and d.last_seen_at < since):
        return WHY_NEVER_SEEN
    need = min((size for _, size in audio.values()), default=0)
    if free is not None and need and free < need:
        return WHY_STORAGE
    held = set((d.last_inventory or {}).get("files", []))
    if audio and d.inventory_at is not None and (since is None or d.inventory_at >= since) \
            and not any(sha in held for sha, _ in audio.values()):
        return WHY_NOT_DOWNLOADED
    if not emergency and since is not None and expires is not None and _in_quiet(since, expires, quiet):
        return WHY_QUIET
    return WHY_UNKNOWN


def package_coverage(s: Session, package_id: int, *, now: datetime, thresholds: Thresholds,
                     within: str | None = None) -> Coverage:
    """Proof of play for one package, optionally limited to the devices inside area ``within``.

    Raises:
        NotFound: no such package.
    """
    pkg = packages.get_package(s, package_id)
    rev = drafts.revision_by_id(s, pkg.revision_id)
    content = rev.content
    tree: dict[str, Area] = device_service.area_map(s)
    targets = [d for d in device_service.devices_reaching(s, list(content.area_codes))
               if within is None or (d.area_code in tree and is_within(d.area_code, within, tree))]
    published = repo.published_times(s, [package_id]).get(package_id)
    emergency = content.priority is Priority.KHAN_CAP
    plays = {row[0]: row for row in repo.plays_by_device(s, pkg.manifest_hash)} if pkg.manifest_hash else {}
    acks = {a.device_id: a for a in repo.acks_of(s, [pkg.manifest_hash])} if pkg.manifest_hash else {}
    health = repo.health_of(s, [d.id for d in targets])
    audio = {a.language: (a.sha256, a.size) for a in packages.assets_of(s, package_id) if a.kind == AssetKind.AUDIO}
    live = pkg.status in (PackageStatus.PUBLISHED.value, PackageStatus.SCHEDULED.value,
                          PackageStatus.CORRECTED.value, PackageStatus.WITHDRAWN.value)
    quiet_cache: dict[str, tuple[ClockRange, ...]] = {}
    rows: list[DevicePlay] = []
    reasons: dict[str, int] = {}
    to_air: list[float] = []
    to_ack: list[float] = []
    for d in targets:
        p = plays.get(d.id)
        ack = acks.get(d.id)
        why = None
        if p is None and live:
            if d.area_code not in quiet_cache:
                quiet_cache[d.area_code] = quiet_ranges(s, d.area_code)
            h = health.get(d.id)
            why = _why_not(d, published=published, embargo=content.embargo_at, expires=content.expires_at, now=now,
                           audio=audio, free=h.free_bytes if h else None, quiet=quiet_cache[d.area_code],
                           emergency=emergency)
            reasons[why] = reasons.get(why, 0) + 1
        if p is not None and published is not None:
            to_air.append(max(0.0, (p[1] - published).total_seconds()))
        if ack is not None and published is not None:
            to_ack.append(max(0.0, (ack.acked_at - published).total_seconds()))
        rows.append(DevicePlay(d.id, d.name, d.area_code,
                               device_state(d.last_seen_at, now, online_s=thresholds.online_s,
                                            offline_s=thresholds.offline_s),
                               p[1] if p else None, p[2] if p else 0, p[3] if p else 0,
                               (p[2] - p[3]) if p else 0, ack.acked_at if ack else None, why))
    communes: dict[str, list[DevicePlay]] = {}
    for r in rows:
        communes.setdefault(r.area_code, []).append(r)
    commune_rows = []
    for code, ds in sorted(communes.items()):
        firsts = [r.first_play for r in ds if r.first_play is not None]
        commune_rows.append(CommunePlay(code, tree[code].name if code in tree else code, len(ds),
                                        sum(1 for r in ds if r.first_play is not None),
                                        min(firsts) if firsts else None, sum(r.plays for r in ds)))
    rows.sort(key=lambda r: (r.first_play is not None, r.area_code, r.device_id))
    area_of = {d.id: d.area_code for d in targets}
    per_lang: dict[str, list[Any]] = {lang: [set(), set(), 0] for lang in content.languages}
    for device_id, item_id, n in (repo.plays_by_device_item(s, pkg.manifest_hash) if pkg.manifest_hash else []):
        lang = item_language(item_id)
        if lang is None or device_id not in area_of:
            continue
        acc = per_lang.setdefault(lang, [set(), set(), 0])
        acc[0].add(device_id)
        acc[1].add(area_of[device_id])
        acc[2] += n
    languages = tuple(LanguagePlay(lang, len(d), len(c), n) for lang, (d, c, n) in per_lang.items())
    return Coverage(package_id, content.title, content.priority.value, pkg.status, pkg.manifest_hash, published,
                    content.expires_at, tuple(rows), tuple(commune_rows), tuple(to_air) if emergency else (),
                    tuple(to_ack) if emergency else (), reasons, languages, tuple(content.area_codes))



Tiles = list[tuple[str, list[tuple[str, float | None]]]]


def map_tiles(s: Session, cov: Coverage, *, within: str | None = None) -> Tiles:
    """Every commune the bulletin reaches (inside ``within``), grouped under its parent, with the percentage of
    its devices that played it (None: no device there), for ``report_charts.coverage_grid``."""
    tree: dict[str, Area] = device_service.area_map(s)
    parent_of = {c: a.parent_code for c, a in tree.items()}
    reached: set[str] = set()
    for code in cov.area_codes:
        if code in tree:
            reached |= descendants(code, parent_of)
    if within is not None and within in tree:
        reached &= descendants(within, parent_of)
    played = {c.area_code: 100.0 * c.devices_played / c.devices for c in cov.communes if c.devices}
    groups: dict[str, list[tuple[str, float | None]]] = {}
    for code in sorted(leaves(reached, parent_of), key=lambda c: (parent_of.get(c) or "", c)):
        parent = parent_of.get(code)
        groups.setdefault(tree[parent].name if parent else "", []).append((tree[code].name, played.get(code)))
    return list(groups.items())
