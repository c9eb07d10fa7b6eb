"""The signed schedule a device polls for (``bantin.schedule/1``, docs/device-protocol.md §3).

Items come from published packages targeted at the device's area or an ancestor, in the area's languages,
whose validity window meets the look-ahead window, plus the programmes of issue 6 (``services.programs``).
A schedule is built once per area, device kind and window, reused for ``BANTIN_DEVICE_CACHE_S`` seconds by
every device there, then made per device (its id), hashed for the ETag and signed.
"""

import functools
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from domain.devices import (
    DeviceKind,
    emergency_expiry,
    file_name,
    item_json,
    order_items,
    schedule_body,
    schedule_etag,
    window_start,
)
from domain.drafts import Channel
from domain.errors import NotFound
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority
from domain.schedules import FileRef, ScheduleItem
from services import areas as area_service
from services import default_content, emergency_window, live, programs, programs_on_air, relays, signing
from services.caches import CACHES
from services.devices import DeviceAuth, area_chain, area_languages, area_map
from services.runtime import object_store
from settings import get_settings
from storage.models import AssetRecord, DraftRevisionRecord, PackageRecord, VariantRecord
from storage.objects import ObjectStore, S3ObjectStore

LIVE = (PackageStatus.PUBLISHED.value,)
RETRACTED = (PackageStatus.WITHDRAWN.value, PackageStatus.KILLED.value, PackageStatus.CORRECTED.value)
PRESIGN_MAX = timedelta(days=7)  # S3's limit for a presigned URL


@dataclass(frozen=True)
class AreaSchedule:
    """What every device of one kind in one area is told for one window (before the device id)."""

    area_code: str
    start: datetime
    end: datetime
    items: list[dict[str, Any]]
    withdrawn: list[str]
    quiet_hours: list[dict[str, Any]]
    volume_profile: list[dict[str, Any]]
    default_content: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BuiltSchedule:
    """An area schedule as cached (``CACHES.area_schedules``): what it was built from and when it was last
    found current against the database (``CACHES.clock``)."""

    checked_at: float
    generation: tuple[Any, ...]
    schedule: AreaSchedule


def invalidate() -> None:
    """Forget every built schedule in this process (after a publish, withdrawal or kill)."""
    CACHES.forget_schedules()


def file_url(store: ObjectStore, key: str, sha256: str, base_url: str, start: datetime, hours: int) -> str:
    """Where a device fetches a file: a presigned S3 URL dated at the window start (so it, and the ETag,
    stay the same for the window), or this app's ``/device/v1/files/<sha256>`` for the local store."""
    if isinstance(store, S3ObjectStore):
        expires = min(PRESIGN_MAX, timedelta(hours=hours + 2))
        return store.client.presigned_get_object(store.bucket, key, expires=expires, request_date=start)
    return f"{base_url.rstrip('/')}/device/v1/files/{sha256}"


def _package_items(s: Session, store: ObjectStore, chain: set[str], languages: tuple[str, ...], kind: DeviceKind,
                   start: datetime, end: datetime, base_url: str, hours: int,
                   only: list[int] | None = None) -> tuple[list[ScheduleItem], list[str]]:
    """Items for the packages aimed at ``chain`` (``only`` these ids, if given), and the manifests withdrawn."""
    settings = get_settings()
    now = datetime.now(UTC)
    query = (select(PackageRecord, DraftRevisionRecord)
             .join(DraftRevisionRecord, PackageRecord.revision_id == DraftRevisionRecord.id)
             .where(PackageRecord.status.in_(LIVE + RETRACTED)))
    if only is not None:
        query = query.where(PackageRecord.id.in_(only))
    rows = s.execute(query).tuples()
    live: list[tuple[PackageRecord, DraftRevisionRecord, str]] = []  # with the manifest hash
    withdrawn: list[str] = []
    for pkg, rev in rows:
        if not pkg.manifest_hash or not chain.intersection(rev.area_codes):
            continue
        if pkg.status in RETRACTED:
            if pkg.updated_at >= now - timedelta(hours=hours):
                withdrawn.append(pkg.manifest_hash)
            continue
        channel = Channel.LOUDSPEAKER if kind is DeviceKind.SPEAKER else Channel.BOARD
        if channel.value not in rev.channels:
            continue
        if rev.embargo_at is not None and rev.embargo_at >= end:
            continue
        if rev.expires_at is not None and rev.expires_at <= start:
            continue
        live.append((pkg, rev, pkg.manifest_hash))
    if not live:
        return [], withdrawn
    ids = [p.id for p, _, _ in live]
    ready = {(v.package_id, v.language) for v in s.scalars(
        select(VariantRecord).where(VariantRecord.package_id.in_(ids), VariantRecord.status == VariantStatus.READY))}
    files: dict[tuple[int, str], list[AssetRecord]] = {}
    wanted = [AssetKind.AUDIO.value] if kind is DeviceKind.SPEAKER else [AssetKind.AUDIO.value, AssetKind.SLIDE.value]
    for a in s.scalars(select(AssetRecord).where(AssetRecord.package_id.in_(ids), AssetRecord.kind.in_(wanted))
                       .order_by(AssetRecord.position)):
        files.setdefault((a.package_id, a.language), []).append(a)
    items = []
    for pkg, rev, manifest in live:
        emergency = rev.priority == Priority.KHAN_CAP.value
        for lang in languages:
            assets = files.get((pkg.id, lang), [])
            if (pkg.id, lang) not in ready or not assets:
                continue
            refs = {a.kind: [] for a in assets}  # type: dict[str, list[FileRef]]
            for a in assets:
                refs[a.kind].append(FileRef(file_name(a.sha256, a.key), file_url(store, a.key, a.sha256, base_url,
                                                                                   start, hours), a.size, a.sha256))
            audio = refs.get(AssetKind.AUDIO.value, [None])[0]
            slides = tuple(refs.get(AssetKind.SLIDE.value, []))
            if kind is DeviceKind.SPEAKER and audio is None:
                continue
            expires = rev.expires_at
            if emergency:
                expires = emergency_window.valid_until(s, pkg, priority=rev.priority, expires_at=rev.expires_at) \
                    or emergency_expiry(None, pkg.updated_at, timedelta(minutes=settings.emergency_default_minutes))
                if expires <= now:
                    continue
            items.append(ScheduleItem(
                item_id=f"{manifest[:16]}.{lang}", kind="emergency" if emergency else "package",
                manifest_hash=manifest, priority=rev.priority, language=lang, title=rev.title,
                starts_at=rev.embargo_at, expires_at=expires, audio=audio, slides=slides,
                repeat_every_s=settings.emergency_repeat_s if emergency else None))
    return items, withdrawn


def schedule_generation(s: Session) -> tuple[Any, ...]:
    """Changes whenever any package is added or changes state, or a programme edition, program or area profile
    changes (one statement of cheap aggregates): a built schedule whose generation still matches is current,
    whichever node made the change."""
    return tuple(s.execute(_generation_query()).one())


@functools.cache
def _generation_query() -> Select[Any]:  # built once: this runs on every poll that reaches the database
    return select(select(func.count(PackageRecord.id)).scalar_subquery(),
                  select(func.max(PackageRecord.updated_at)).scalar_subquery(), *programs_on_air.generation_parts(),
                  *relays.generation_parts(), *live.generation_parts())


def area_schedule(s: Session, area_code: str, kind: DeviceKind, hours: int, base_url: str,
                  now: datetime | None = None) -> AreaSchedule:
    """The schedule every ``kind`` device in ``area_code`` gets.

    Reused while no package, programme edition, program or area profile changed (checked on every call) for
    up to ``BANTIN_DEVICE_SCHEDULE_TTL_S`` (what only time changes, e.g. a withdrawal ageing out of the
    look-ahead, is picked up within that time); ``BANTIN_DEVICE_CACHE_S=0`` turns all caching off.
    """
    now = now or datetime.now(UTC)
    start = window_start(now)
    key = (area_code, kind, hours, start, base_url)
    generation = schedule_generation(s)
    hit = CACHES.area_schedules.get(key)
    if hit is not None and hit.generation == generation:
        hit.checked_at = CACHES.now()
        return hit.schedule
    end = start + timedelta(hours=hours)
    all_areas = area_map(s)
    if area_code not in all_areas:
        raise NotFound(f"unknown area {area_code}")
    languages = area_languages(area_code, all_areas)
    store = object_store()
    chain = area_service.with_old_codes(s, set(area_chain(area_code, all_areas)))  # items filed under old units too
    items, withdrawn = _package_items(s, store, chain, languages, kind, start, end, base_url, hours)
    items += programs_on_air.program_items(s, area_code, languages, start, end,
                                    file_url=lambda key, sha: file_url(store, key, sha, base_url, start, hours))
    quiet, volume = programs.area_profile(s, area_code)
    defaults = _default_items(s, store, area_code, languages, kind, start, end, base_url, hours)
    streams = []  # live sessions first: devices play the first stream on the air, so live preempts relays
    if kind is DeviceKind.SPEAKER:
        streams = live.stream_items(s, chain, now) + relays.stream_items(s, chain, start, end)
    built = AreaSchedule(area_code, start, end, [item_json(i) for i in order_items(items)] + streams,
                         sorted(set(withdrawn)),
                         list(quiet), list(volume), [item_json(i) for i in defaults])
    CACHES.area_schedules.put(key, BuiltSchedule(CACHES.now(), generation, built))
    return built


def _default_items(s: Session, store: ObjectStore, area_code: str, languages: tuple[str, ...], kind: DeviceKind,
                   start: datetime, end: datetime, base_url: str, hours: int) -> list[ScheduleItem]:
    """The area's default content (``services.default_content``) as items, in the order the officer gave:
    ids of their own (a package may also be a scheduled item), no start time, only what is playable now."""
    setter, ids = default_content.default_packages(s, area_code)
    if setter is None:
        return []
    all_areas = area_map(s)
    chain = area_service.with_old_codes(s, set(area_chain(setter, all_areas)))
    found, _ = _package_items(s, store, chain, languages, kind, start, end, base_url, hours, only=ids)
    rank = {package_id: n for n, package_id in enumerate(ids)}
    by_manifest = {p.manifest_hash: p.id for p in s.scalars(select(PackageRecord).where(PackageRecord.id.in_(ids)))}
    now = datetime.now(UTC)
    playable = [i for i in found if i.kind == "package" and (i.starts_at is None or i.starts_at <= now)]
    playable.sort(key=lambda i: (rank.get(by_manifest.get(i.manifest_hash, -1), len(rank)), i.language))
    return [replace(i, item_id=f"default-{i.item_id}", starts_at=None) for i in playable]


def device_etag(s: Session, device: DeviceAuth, hours: int, base_url: str) -> tuple[str, AreaSchedule]:
    """The current ETag of a device's schedule (cheap when nothing changed: no hashing, no signing)."""
    area = area_schedule(s, device.area_code, device.kind, hours, base_url)
    hit = CACHES.device_schedules.get(device.id)
    if hit is not None and hit[0] is area:
        return hit[1], area
    body = schedule_body(device_id=device.id, area_code=device.area_code, start=area.start, end=area.end,
                         items=relays.with_listen_urls(area.items, device.id), withdrawn=area.withdrawn,
                         default_content=area.default_content,
                         quiet_hours=area.quiet_hours, volume_profile=area.volume_profile)
    etag = schedule_etag(body)
    CACHES.device_schedules.put(device.id, (area, etag, body, None))
    return etag, area


def signed_schedule(s: Session, device: DeviceAuth, hours: int, base_url: str) -> tuple[str, bytes]:
    """The device's signed schedule (JSON bytes) and its ETag, signed once per change and reused while cached."""
    etag, area = device_etag(s, device, hours, base_url)
    entry = CACHES.device_schedules.get(device.id)
    assert entry is not None  # device_etag just stored it
    area_obj, _, body, signed = entry
    if signed is None or area_obj is not area:
        doc = signing.sign({**body, "etag": etag, "generated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")})
        signed = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        CACHES.device_schedules.put(device.id, (area, etag, body, signed))
    return etag, signed


def cached(device: DeviceAuth, hours: int, base_url: str) -> tuple[str, bytes | None] | None:
    """The device's ETag (and signed schedule, if already signed) from this process's caches, without the
    database; None when the schedule must be (re)built."""
    start = window_start(datetime.now(UTC))
    hit = CACHES.area_schedules.get((device.area_code, device.kind, hours, start, base_url))
    if hit is None or CACHES.now() - hit.checked_at > get_settings().device_cache_s:
        return None  # not validated against the database recently enough
    entry = CACHES.device_schedules.get(device.id)
    if entry is None or entry[0] is not hit.schedule:
        return None
    return entry[1], entry[3]


def file_for_device(s: Session, sha256: str) -> AssetRecord:
    """The stored audio or slide with this SHA-256, if it belongs to a package on the air.

    Raises:
        NotFound: no such file among published packages.
    """
    stmt = (select(AssetRecord).join(PackageRecord, AssetRecord.package_id == PackageRecord.id)
            .where(AssetRecord.sha256 == sha256, PackageRecord.status.in_(LIVE),
                   AssetRecord.kind.in_([AssetKind.AUDIO.value, AssetKind.SLIDE.value])).limit(1))
    rec = s.scalar(stmt)
    if rec is None:  # an assembled programme's audio is not a package asset
        key = programs_on_air.program_audio_key(s, sha256)
        if key is not None:
            return AssetRecord(key=key, sha256=sha256, media_type="audio/mpeg", kind=AssetKind.AUDIO.value)
    if rec is None:
        raise NotFound(f"no published file {sha256[:12]}…")
    return rec

