"""Rollups of play logs, device health and state changes, and generated reports (persistence only)."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import String, case, cast, func, select, update
from sqlalchemy.orm import Session

from domain.clock import as_utc
from domain.devices import DeviceStatus
from domain.packages import PackageStatus, VariantStatus
from domain.priority import Priority
from domain.reports import Health
from storage.db import rowcount
from storage.models import AuditRecord, utcnow
from storage.models_devices import DeviceRecord, EmergencyAckRecord, PlayLogRecord
from storage.models_reports import (
    DeviceHealthRecord,
    DeviceStateChangeRecord,
    PlayDailyRecord,
    PlayFirstRecord,
    PlayLanguageRecord,
    ReportRecord,
    RollupStateRecord,
)
from storage.repositories.devices import _insert

VN_OFFSET = timedelta(hours=7)  # Vietnam keeps UTC+7 all year
PLAYS = "plays"


def vn_day(at: datetime) -> str:
    return (at + VN_OFFSET).date().isoformat()


def day_start_utc(day: date) -> datetime:
    """The UTC instant a Vietnam calendar day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - VN_OFFSET


# --- rollups --------------------------------------------------------------------------------------------

def rollup_watermark(session: Session, name: str = PLAYS) -> int:
    rec = session.get(RollupStateRecord, name)
    if rec is None:
        session.add(RollupStateRecord(name=name, last_id=0))
        session.flush()
        return 0
    return rec.last_id


def advance_watermark(session: Session, old: int, new: int, name: str = PLAYS) -> bool:
    """Compare-and-set the watermark; False when another run moved it first (its transaction must roll back)."""
    res = session.execute(update(RollupStateRecord).where(RollupStateRecord.name == name,
                                                          RollupStateRecord.last_id == old)
                          .values(last_id=new, updated_at=utcnow()).execution_options(synchronize_session=False))
    return rowcount(res) == 1


def play_rows_after(session: Session, after_id: int, limit: int) -> list[Any]:
    """Play log rows past the watermark with their device's area, oldest first."""
    stmt = (select(PlayLogRecord.id, PlayLogRecord.device_id, DeviceRecord.area_code, PlayLogRecord.manifest_hash,
                   PlayLogRecord.started_at, PlayLogRecord.ended_at, PlayLogRecord.completed, PlayLogRecord.trigger,
                   PlayLogRecord.item_id)
            .join(DeviceRecord, DeviceRecord.id == PlayLogRecord.device_id)
            .where(PlayLogRecord.id > after_id).order_by(PlayLogRecord.id).limit(limit))
    return list(session.execute(stmt))


def upsert_daily(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add counts into ``play_daily`` (rows keyed by day and device)."""
    if not rows:
        return
    stmt = _insert(session, PlayDailyRecord.__table__)  # Core: no ORM bulk bookkeeping per row
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(index_elements=["day", "device_id"], set_={
        "plays": PlayDailyRecord.plays + ex.plays, "completed": PlayDailyRecord.completed + ex.completed,
        "interrupted": PlayDailyRecord.interrupted + ex.interrupted,
        "emergency_plays": PlayDailyRecord.emergency_plays + ex.emergency_plays,
        "seconds": PlayDailyRecord.seconds + ex.seconds})
    session.execute(stmt, rows)  # executemany: one compiled statement for every row


def upsert_firsts(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add counts into ``play_firsts`` (keyed by manifest and device), keeping the earliest and latest play."""
    if not rows:
        return
    stmt = _insert(session, PlayFirstRecord.__table__)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(index_elements=["manifest_hash", "device_id"], set_={
        "first_at": case((ex.first_at < PlayFirstRecord.first_at, ex.first_at), else_=PlayFirstRecord.first_at),
        "last_at": case((ex.last_at > PlayFirstRecord.last_at, ex.last_at), else_=PlayFirstRecord.last_at),
        "plays": PlayFirstRecord.plays + ex.plays, "completed": PlayFirstRecord.completed + ex.completed,
        "interrupted": PlayFirstRecord.interrupted + ex.interrupted})
    session.execute(stmt, rows)


def upsert_languages(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add counts into ``play_languages`` (keyed by manifest, language and device), keeping the earliest play."""
    if not rows:
        return
    stmt = _insert(session, PlayLanguageRecord.__table__)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(index_elements=["manifest_hash", "language", "device_id"], set_={
        "first_at": case((ex.first_at < PlayLanguageRecord.first_at, ex.first_at),
                         else_=PlayLanguageRecord.first_at),
        "plays": PlayLanguageRecord.plays + ex.plays, "seconds": PlayLanguageRecord.seconds + ex.seconds})
    session.execute(stmt, rows)


def languages_for(session: Session, manifest_hashes: Iterable[str], until: datetime) -> list[Any]:
    """(manifest_hash, language, area_code, devices, plays, seconds) of these manifests, per device area, counting
    the devices that first played that language before ``until``."""
    hashes = list(manifest_hashes)
    out: list[Any] = []
    for i in range(0, len(hashes), 500):
        out += session.execute(
            select(PlayLanguageRecord.manifest_hash, PlayLanguageRecord.language, PlayLanguageRecord.area_code,
                   func.count(), func.sum(PlayLanguageRecord.plays), func.sum(PlayLanguageRecord.seconds))
            .where(PlayLanguageRecord.manifest_hash.in_(hashes[i:i + 500]), PlayLanguageRecord.first_at < until)
            .group_by(PlayLanguageRecord.manifest_hash, PlayLanguageRecord.language, PlayLanguageRecord.area_code)
        ).all()
    return out


def daily_by_area(session: Session, area_codes: Iterable[str], start: date, end: date) -> list[Any]:
    """Sum of ``play_daily`` per area code and day within [start, end]."""
    codes = list(area_codes)
    stmt = (select(PlayDailyRecord.area_code, PlayDailyRecord.day, func.sum(PlayDailyRecord.plays),
                   func.sum(PlayDailyRecord.completed), func.sum(PlayDailyRecord.interrupted),
                   func.sum(PlayDailyRecord.seconds), func.count(PlayDailyRecord.device_id))
            .where(PlayDailyRecord.day >= start.isoformat(), PlayDailyRecord.day <= end.isoformat())
            .group_by(PlayDailyRecord.area_code, PlayDailyRecord.day))
    if len(codes) < 2000:
        stmt = stmt.where(PlayDailyRecord.area_code.in_(codes))
        return list(session.execute(stmt))
    wanted = set(codes)
    return [r for r in session.execute(stmt) if r[0] in wanted]


def firsts_for(session: Session, manifest_hashes: Iterable[str], until: datetime) -> list[Any]:
    """(manifest_hash, device_id, area_code, first_at, plays, completed, interrupted) of these manifests, first
    played before ``until``."""
    hashes = list(manifest_hashes)
    out: list[Any] = []
    for i in range(0, len(hashes), 500):
        out += session.execute(
            select(PlayFirstRecord.manifest_hash, PlayFirstRecord.device_id, PlayFirstRecord.area_code,
                   PlayFirstRecord.first_at, PlayFirstRecord.plays, PlayFirstRecord.completed,
                   PlayFirstRecord.interrupted)
            .where(PlayFirstRecord.manifest_hash.in_(hashes[i:i + 500]), PlayFirstRecord.first_at < until)).all()
    return out


# --- play logs read directly (one bulletin, one device) ---------------------------------------------------

def plays_by_device(session: Session, manifest_hash: str) -> list[Any]:
    """Per device: first play, count, completed and interrupted plays of one manifest (from the raw log)."""
    done = func.sum(case((PlayLogRecord.completed.is_(True), 1), else_=0))
    return list(session.execute(
        select(PlayLogRecord.device_id, func.min(PlayLogRecord.started_at), func.count(), done)
        .where(PlayLogRecord.manifest_hash == manifest_hash).group_by(PlayLogRecord.device_id)))


def plays_by_device_item(session: Session, manifest_hash: str) -> list[Any]:
    """Per device and item id (the item id names the variant's language): plays of one manifest."""
    return list(session.execute(
        select(PlayLogRecord.device_id, PlayLogRecord.item_id, func.count())
        .where(PlayLogRecord.manifest_hash == manifest_hash).group_by(PlayLogRecord.device_id, PlayLogRecord.item_id)))


def manifests_played_by(session: Session, device_ids: Iterable[int], hashes: Iterable[str]) -> set[str]:
    """Which of these manifests any of these devices has played (from the raw log)."""
    hs, ids = sorted(set(hashes)), sorted(set(device_ids))
    if not hs or not ids:
        return set()
    return set(session.scalars(select(PlayLogRecord.manifest_hash).where(
        PlayLogRecord.manifest_hash.in_(hs), PlayLogRecord.device_id.in_(ids)).distinct()))


def plays_per_manifest_since(session: Session, hashes: Iterable[str], since: datetime) -> dict[str, tuple[int, int]]:
    """Manifest hash -> (plays, distinct devices) since ``since``."""
    hs = list(hashes)
    if not hs:
        return {}
    rows = session.execute(select(PlayLogRecord.manifest_hash, func.count(), func.count(PlayLogRecord.device_id
                                                                                        .distinct()))
                           .where(PlayLogRecord.manifest_hash.in_(hs), PlayLogRecord.started_at >= since)
                           .group_by(PlayLogRecord.manifest_hash))
    return {h: (n, d) for h, n, d in rows}


def stream_plays(session: Session, hashes: Iterable[str]) -> list[Any]:
    """Per manifest and device: plays, completed plays, first start and seconds played (from the raw log; for
    live sessions and relay airings, whose manifests are few)."""
    hs = sorted(set(hashes))
    if not hs:
        return []
    rows = session.execute(
        select(PlayLogRecord.manifest_hash, PlayLogRecord.device_id, PlayLogRecord.started_at,
               PlayLogRecord.ended_at, PlayLogRecord.completed).where(PlayLogRecord.manifest_hash.in_(hs)))
    out: dict[tuple[str, int], list[Any]] = {}
    for manifest, device_id, started, ended, completed in rows:
        acc = out.setdefault((manifest, device_id), [manifest, device_id, 0, 0, started, 0.0])
        acc[2] += 1
        acc[3] += bool(completed)
        acc[4] = min(acc[4], started)
        acc[5] += max(0.0, (ended - started).total_seconds()) if ended is not None else 0.0
    return [tuple(v) for v in out.values()]


def acks_of(session: Session, manifest_hashes: Iterable[str]) -> list[EmergencyAckRecord]:
    hs = list(manifest_hashes)
    if not hs:
        return []
    return list(session.scalars(select(EmergencyAckRecord).where(EmergencyAckRecord.manifest_hash.in_(hs))))


def published_times(session: Session, package_ids: Iterable[int]) -> dict[int, datetime]:
    """Package id -> when it was (first) published, from the audit log."""
    ids = [str(i) for i in package_ids]
    out: dict[int, datetime] = {}
    for i in range(0, len(ids), 500):
        rows = session.execute(select(AuditRecord.entity_id, func.min(AuditRecord.at))
                               .where(AuditRecord.entity == "package", AuditRecord.action == "package.published",
                                      AuditRecord.entity_id.in_(ids[i:i + 500]))
                               .group_by(AuditRecord.entity_id))
        out.update({int(e): as_utc(at) for e, at in rows})
    return out


# --- device health and state ---------------------------------------------------------------------------

def save_health(session: Session, device_id: int, health: Health, free_bytes: int | None, at: datetime) -> None:
    """Keep the latest health report; reboots add up, refused values are counted."""
    rec = session.get(DeviceHealthRecord, device_id)
    if rec is None:
        rec = DeviceHealthRecord(device_id=device_id, reboots_total=0, rejected_values=0)
        session.add(rec)
    if health.uptime_s is not None:
        rec.uptime_s = health.uptime_s
    if health.temperature_c is not None:
        rec.temperature_c = health.temperature_c
    if health.network is not None:
        rec.network = health.network
    rec.reboots_total = (rec.reboots_total or 0) + (health.reboots or 0)
    rec.rejected_values = (rec.rejected_values or 0) + len(health.rejected)
    rec.free_bytes = free_bytes
    rec.reported_at = health.reported_at or at
    rec.updated_at = at
    session.flush()


def health_of(session: Session, device_ids: Iterable[int] | None = None) -> dict[int, DeviceHealthRecord]:
    stmt = select(DeviceHealthRecord)
    if device_ids is not None:
        stmt = stmt.where(DeviceHealthRecord.device_id.in_(list(device_ids)))
    return {r.device_id: r for r in session.scalars(stmt)}


def last_states(session: Session, device_ids: Iterable[int] | None = None) -> dict[int, bool]:
    """Device id -> its most recently recorded state (online True), of every device or of these."""
    latest = select(DeviceStateChangeRecord.device_id, func.max(DeviceStateChangeRecord.id).label("mid"))
    if device_ids is not None:
        latest = latest.where(DeviceStateChangeRecord.device_id.in_(list(device_ids)))
    newest = latest.group_by(DeviceStateChangeRecord.device_id).subquery()
    rows = session.execute(select(DeviceStateChangeRecord.device_id, DeviceStateChangeRecord.online)
                           .join(newest, newest.c.mid == DeviceStateChangeRecord.id))
    return {d: bool(o) for d, o in rows}


def last_seen_of(session: Session, device_ids: Iterable[int]) -> dict[int, datetime | None]:
    """Device id -> when it was last heard from, as stored."""
    rows = session.execute(select(DeviceRecord.id, DeviceRecord.last_seen_at)
                           .where(DeviceRecord.id.in_(list(device_ids))))
    return {i: None if at is None else as_utc(at) for i, at in rows}


def add_state_changes(session: Session, changes: list[dict[str, Any]]) -> None:
    if changes:
        session.execute(_insert(session, DeviceStateChangeRecord).values(changes))


def state_changes(session: Session, device_ids: Iterable[int], until: datetime) -> list[Any]:
    ids = list(device_ids)
    out: list[Any] = []
    for i in range(0, len(ids), 500):
        out += session.execute(select(DeviceStateChangeRecord.device_id, DeviceStateChangeRecord.at,
                                      DeviceStateChangeRecord.online)
                               .where(DeviceStateChangeRecord.device_id.in_(ids[i:i + 500]),
                                      DeviceStateChangeRecord.at < until)
                               .order_by(DeviceStateChangeRecord.device_id, DeviceStateChangeRecord.at,
                                         DeviceStateChangeRecord.id)).all()
    return out


# --- reports --------------------------------------------------------------------------------------------

def add_report(session: Session, **values: Any) -> ReportRecord:
    rec = ReportRecord(**values)
    session.add(rec)
    session.flush()
    return rec


def list_reports(session: Session, *, area_codes: Iterable[str] | None = None, limit: int = 200) -> list[ReportRecord]:
    stmt = select(ReportRecord).order_by(ReportRecord.created_at.desc(), ReportRecord.id.desc()).limit(limit)
    if area_codes is not None:
        stmt = stmt.where(ReportRecord.area_code.in_(list(area_codes)))
    return list(session.scalars(stmt))


def get_report(session: Session, report_id: int) -> ReportRecord | None:
    return session.get(ReportRecord, report_id)


def report_made(session: Session, period: str, area_code: str) -> bool:
    """Whether a report of this period and area exists in any format."""
    return bool(session.scalar(select(func.count()).select_from(ReportRecord).where(
        ReportRecord.period == period, ReportRecord.area_code == area_code)))


def report_exists(session: Session, period: str, area_code: str, fmt: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(ReportRecord).where(
        ReportRecord.period == period, ReportRecord.area_code == area_code, ReportRecord.format == fmt)))


# --- dashboard queries ----------------------------------------------------------------------------------

def emergency_packages(session: Session, *, published_after: datetime) -> list[Any]:
    """Published emergency packages published after a time: (package id, manifest hash, title, areas, expires_at,
    published_at)."""
    from storage.models import DraftRevisionRecord, PackageRecord

    pub = (select(AuditRecord.entity_id.label("pid"), func.min(AuditRecord.at).label("at"))
           .where(AuditRecord.entity == "package", AuditRecord.action == "package.published",
                  AuditRecord.at >= published_after)
           .group_by(AuditRecord.entity_id).subquery())
    rows = session.execute(
        select(PackageRecord.id, PackageRecord.manifest_hash, DraftRevisionRecord.title,
               DraftRevisionRecord.area_codes, DraftRevisionRecord.expires_at, pub.c.at)
        .join(DraftRevisionRecord, DraftRevisionRecord.id == PackageRecord.revision_id)
        .join(pub, pub.c.pid == cast(PackageRecord.id, String))
        .where(PackageRecord.status == PackageStatus.PUBLISHED.value,
               DraftRevisionRecord.priority == Priority.KHAN_CAP.value))
    return [(i, h, t, a, e, None if at is None else as_utc(at)) for i, h, t, a, e, at in rows]


def queue_rows(session: Session) -> list[Any]:
    """Packages in review with their target areas and blocked (awaiting translation) variants count."""
    from storage.models import DraftRevisionRecord, PackageRecord, VariantRecord

    blocked = (select(VariantRecord.package_id, func.count().label("n"))
               .where(VariantRecord.status == VariantStatus.BLOCKED.value)
               .group_by(VariantRecord.package_id).subquery())
    return list(session.execute(
        select(PackageRecord.id, DraftRevisionRecord.area_codes, func.coalesce(blocked.c.n, 0))
        .join(DraftRevisionRecord, DraftRevisionRecord.id == PackageRecord.revision_id)
        .outerjoin(blocked, blocked.c.package_id == PackageRecord.id)
        .where(PackageRecord.status == PackageStatus.IN_REVIEW.value)))


def publishing_package_areas(session: Session) -> list[Any]:
    """Approved or scheduled packages (publication not yet done) with their target areas."""
    from storage.models import DraftRevisionRecord, PackageRecord

    return list(session.execute(
        select(PackageRecord.id, DraftRevisionRecord.area_codes)
        .join(DraftRevisionRecord, DraftRevisionRecord.id == PackageRecord.revision_id)
        .where(PackageRecord.status.in_([PackageStatus.APPROVED.value, PackageStatus.SCHEDULED.value]))))


def dead_delivery_areas(session: Session) -> list[Any]:
    """Target areas of each dead delivery (outbox rows of kind delivery)."""
    from domain.deliveries import DeliveryStatus, OutboxKind
    from storage.models import DraftRevisionRecord, OutboxRecord, PackageRecord

    return list(session.execute(
        select(OutboxRecord.id, DraftRevisionRecord.area_codes)
        .join(PackageRecord, PackageRecord.id == OutboxRecord.package_id)
        .join(DraftRevisionRecord, DraftRevisionRecord.id == PackageRecord.revision_id)
        .where(OutboxRecord.kind == OutboxKind.DELIVERY.value, OutboxRecord.status == DeliveryStatus.DEAD.value)))


def editions_on(session: Session, slot_date: str) -> list[Any]:
    """Programme editions of one date: (area code, program name, starts_at, status, manifest hash, language)."""
    from storage.models_programs import ProgramEditionRecord, ProgramRecord

    return list(session.execute(
        select(ProgramEditionRecord.area_code, ProgramRecord.name, ProgramEditionRecord.starts_at,
               ProgramEditionRecord.status, ProgramEditionRecord.manifest_hash, ProgramEditionRecord.language)
        .join(ProgramRecord, ProgramRecord.id == ProgramEditionRecord.program_id)
        .where(ProgramEditionRecord.slot_date == slot_date).order_by(ProgramEditionRecord.starts_at)))


def device_state_counts(session: Session, online_after: datetime, offline_before: datetime) -> list[Any]:
    """Authorised devices per area and state: (area code, "online"|"stale"|"offline", count); counted in the
    database, so a province's dashboard reads hundreds of rows, not thousands."""
    seen = DeviceRecord.last_seen_at
    state = case((seen >= online_after, "online"), (seen >= offline_before, "stale"), else_="offline").label("st")
    inner = select(DeviceRecord.area_code, state).where(DeviceRecord.status == DeviceStatus.AUTHORISED.value).subquery()
    return list(session.execute(select(inner.c.area_code, inner.c.st, func.count())
                                .group_by(inner.c.area_code, inner.c.st)))


def device_rows(session: Session, *, area_codes: Iterable[str] | None = None, seen_before: datetime | None = None,
                free_below: int | None = None, limit: int | None = None) -> list[Any]:
    """Authorised devices with their health: (id, name, area, kind, last_seen_at, free_bytes, temperature,
    network, uptime_s); optionally only those not heard from since ``seen_before`` or with less free storage
    than ``free_below`` (the fullest first)."""
    stmt = (select(DeviceRecord.id, DeviceRecord.name, DeviceRecord.area_code, DeviceRecord.kind,
                   DeviceRecord.last_seen_at, DeviceHealthRecord.free_bytes, DeviceHealthRecord.temperature_c,
                   DeviceHealthRecord.network, DeviceHealthRecord.uptime_s)
            .outerjoin(DeviceHealthRecord, DeviceHealthRecord.device_id == DeviceRecord.id)
            .where(DeviceRecord.status == DeviceStatus.AUTHORISED.value))
    if area_codes is not None:
        stmt = stmt.where(DeviceRecord.area_code.in_(sorted(set(area_codes))))
    if seen_before is not None:
        stmt = stmt.where(DeviceRecord.last_seen_at.is_(None) | (DeviceRecord.last_seen_at < seen_before))
    if free_below is not None:
        stmt = stmt.where(DeviceHealthRecord.free_bytes < free_below).order_by(DeviceHealthRecord.free_bytes)
    stmt = stmt.order_by(DeviceRecord.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt))


def device_areas_acked(session: Session, manifest_hash: str) -> list[str]:
    """The area of each device that acknowledged a manifest."""
    return list(session.scalars(select(DeviceRecord.area_code)
                                .join(EmergencyAckRecord, EmergencyAckRecord.device_id == DeviceRecord.id)
                                .where(EmergencyAckRecord.manifest_hash == manifest_hash)))


def device_areas_played(session: Session, manifest_hash: str) -> list[str]:
    """The area of each device that played a manifest (once per device)."""
    played = (select(PlayLogRecord.device_id).where(PlayLogRecord.manifest_hash == manifest_hash)
              .distinct().subquery())
    return list(session.scalars(select(DeviceRecord.area_code).join(played, played.c.device_id == DeviceRecord.id)))


def last_change_at(session: Session, device_ids: Iterable[int]) -> dict[int, datetime]:
    """Device id -> when its current state began (its newest recorded change)."""
    ids = list(device_ids)
    out: dict[int, datetime] = {}
    for i in range(0, len(ids), 500):
        rows = session.execute(select(DeviceStateChangeRecord.device_id, func.max(DeviceStateChangeRecord.at))
                               .where(DeviceStateChangeRecord.device_id.in_(ids[i:i + 500]))
                               .group_by(DeviceStateChangeRecord.device_id))
        out.update({d: as_utc(at) for d, at in rows})
    return out


def device_plays(session: Session, device_id: int, limit: int = 200) -> list[Any]:
    """A device's newest plays with the bulletin's title when the manifest is a package's:
    (started_at, ended_at, completed, trigger, item_id, manifest_hash, title, package id)."""
    from storage.models import DraftRevisionRecord, PackageRecord

    return list(session.execute(
        select(PlayLogRecord.started_at, PlayLogRecord.ended_at, PlayLogRecord.completed, PlayLogRecord.trigger,
               PlayLogRecord.item_id, PlayLogRecord.manifest_hash, DraftRevisionRecord.title, PackageRecord.id)
        .outerjoin(PackageRecord, PackageRecord.manifest_hash == PlayLogRecord.manifest_hash)
        .outerjoin(DraftRevisionRecord, DraftRevisionRecord.id == PackageRecord.revision_id)
        .where(PlayLogRecord.device_id == device_id)
        .order_by(PlayLogRecord.started_at.desc(), PlayLogRecord.id.desc()).limit(limit)))


def published_between(session: Session, start: datetime, end: datetime) -> list[Any]:
    """Packages first published in [start, end), with their revision's facts: (id, manifest hash, title,
    priority, area codes, languages, expires_at, published_at, status)."""
    from storage.models import DraftRevisionRecord, PackageRecord

    pub = (select(AuditRecord.entity_id.label("pid"), func.min(AuditRecord.at).label("at"))
           .where(AuditRecord.entity == "package", AuditRecord.action == "package.published")
           .group_by(AuditRecord.entity_id).subquery())
    rows = session.execute(
        select(PackageRecord.id, PackageRecord.manifest_hash, DraftRevisionRecord.title, DraftRevisionRecord.priority,
               DraftRevisionRecord.area_codes, DraftRevisionRecord.languages, DraftRevisionRecord.expires_at,
               pub.c.at, PackageRecord.status)
        .join(DraftRevisionRecord, DraftRevisionRecord.id == PackageRecord.revision_id)
        .join(pub, pub.c.pid == cast(PackageRecord.id, String))
        .where(pub.c.at >= start, pub.c.at < end).order_by(pub.c.at))
    out = []
    for r in rows:
        out.append((*r[:7], as_utc(r[7]), r[8]))
    return out


def bulletin_area_counts(session: Session, windows: list[tuple[str, datetime, datetime]],
                         until: datetime) -> list[Any]:
    """Per bulletin and device area: devices that first played it before ``until`` and how many of them did so
    within the bulletin's window: (manifest hash, area code, devices, on time). ``windows`` holds (manifest hash,
    window start, window end); the counting happens in the database (thousands of rows back, not millions)."""
    from sqlalchemy import literal, union_all

    from storage.models import UTCDateTime

    out: list[Any] = []
    for i in range(0, len(windows), 400):  # SQLite allows 500 terms in a compound SELECT
        win = union_all(*(select(literal(h, String).label("mh"), literal(ws, UTCDateTime()).label("ws"),
                                 literal(we, UTCDateTime()).label("we")) for h, ws, we in windows[i:i + 400])
                        ).cte("win")
        on_time = func.sum(case((PlayFirstRecord.first_at.between(win.c.ws, win.c.we), 1), else_=0))
        out += session.execute(
            select(PlayFirstRecord.manifest_hash, PlayFirstRecord.area_code, func.count(), on_time)
            .join(win, win.c.mh == PlayFirstRecord.manifest_hash)
            .where(PlayFirstRecord.first_at < until)
            .group_by(PlayFirstRecord.manifest_hash, PlayFirstRecord.area_code)).all()
    return out
