"""Programs, their editions and officer orders, area profiles, and the packages programmes draw from."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.approvals import Decision
from domain.editions import AudioRef, Candidate, EditionStatus
from domain.errors import NotFound
from domain.packages import AssetKind, PackageStatus
from domain.priority import Priority
from storage.models import ApprovalRecord, AssetRecord, DraftRevisionRecord, PackageRecord, utcnow
from storage.models_programs import AreaProfileRecord, ProgramEditionRecord, ProgramOrderRecord, ProgramRecord
from storage.repositories import audit

# Package states whose content may air in a programme (approved and not withdrawn, killed or replaced).
AIRABLE = (PackageStatus.APPROVED, PackageStatus.SCHEDULED, PackageStatus.PUBLISHED)


def get_program(session: Session, program_id: int) -> ProgramRecord:
    rec = session.get(ProgramRecord, program_id)
    if rec is None:
        raise NotFound(f"no program with id {program_id} (see 'bantin programs list')")
    return rec


def find_program(session: Session, area_code: str, name: str) -> ProgramRecord | None:
    return session.scalar(select(ProgramRecord).where(ProgramRecord.area_code == area_code,
                                                      ProgramRecord.name == name))


def list_programs(session: Session, *, area_codes: list[str] | None = None, active_only: bool = False
                  ) -> list[ProgramRecord]:
    q = select(ProgramRecord).order_by(ProgramRecord.area_code, ProgramRecord.at, ProgramRecord.id)
    if area_codes is not None:
        q = q.where(ProgramRecord.area_code.in_(area_codes))
    if active_only:
        q = q.where(ProgramRecord.active.is_(True))
    return list(session.scalars(q))


def save_program(session: Session, *, area_code: str, name: str, actor: str, **values: Any) -> ProgramRecord:
    """Create the program named ``name`` in ``area_code``, or update it (same area and name: idempotent)."""
    rec = find_program(session, area_code, name)
    created = rec is None
    if rec is None:
        rec = ProgramRecord(area_code=area_code, name=name, created_by=actor)
        session.add(rec)
    changed = {k: v for k, v in values.items() if getattr(rec, k, None) != v}
    for key, value in values.items():
        setattr(rec, key, value)
    session.flush()
    if created or changed:
        audit.record(session, actor=actor, action="program.created" if created else "program.updated",
                     entity="program", entity_id=rec.id, area_code=area_code, name=name, **changed)
    return rec


def get_order(session: Session, program_id: int, slot_date: str, area_code: str) -> ProgramOrderRecord | None:
    return session.scalar(select(ProgramOrderRecord).where(
        ProgramOrderRecord.program_id == program_id, ProgramOrderRecord.slot_date == slot_date,
        ProgramOrderRecord.area_code == area_code))


def orders_for(session: Session, slot_date: str) -> dict[tuple[int, str], ProgramOrderRecord]:
    """All officer orders of a date, by (program id, area code)."""
    rows = session.scalars(select(ProgramOrderRecord).where(ProgramOrderRecord.slot_date == slot_date))
    return {(r.program_id, r.area_code): r for r in rows}


def set_order(session: Session, *, program_id: int, slot_date: str, area_code: str, order: list[int],
              skipped: list[int], actor: str) -> ProgramOrderRecord:
    rec = get_order(session, program_id, slot_date, area_code)
    if rec is None:
        rec = ProgramOrderRecord(program_id=program_id, slot_date=slot_date, area_code=area_code)
        session.add(rec)
    rec.package_order, rec.skipped, rec.updated_by = list(order), list(skipped), actor
    session.flush()
    audit.record(session, actor=actor, action="program.reordered", entity="program", entity_id=program_id,
                 slot_date=slot_date, area_code=area_code, order=list(order), skipped=list(skipped))
    return rec


def get_edition(session: Session, program_id: int, slot_date: str, area_code: str, language: str
                ) -> ProgramEditionRecord | None:
    return session.scalar(select(ProgramEditionRecord).where(
        ProgramEditionRecord.program_id == program_id, ProgramEditionRecord.slot_date == slot_date,
        ProgramEditionRecord.area_code == area_code, ProgramEditionRecord.language == language))


def edition_by_inputs(session: Session, inputs_hash: str) -> ProgramEditionRecord | None:
    """A published edition built from exactly these inputs (its audio can be reused)."""
    return session.scalar(select(ProgramEditionRecord).where(
        ProgramEditionRecord.inputs_hash == inputs_hash, ProgramEditionRecord.status == EditionStatus.PUBLISHED.value,
        ProgramEditionRecord.audio_key.is_not(None)).limit(1))


def save_edition(session: Session, *, program_id: int, slot_date: str, area_code: str, language: str,
                 starts_at: datetime, status: str, actor: str, **values: Any) -> ProgramEditionRecord:
    """Record (or replace) what was built for one slot, commune and language; audited when it changes."""
    rec = get_edition(session, program_id, slot_date, area_code, language)
    if rec is None:
        rec = ProgramEditionRecord(program_id=program_id, slot_date=slot_date, area_code=area_code,
                                   language=language)
        session.add(rec)
    before = (rec.status, rec.manifest_hash)
    rec.starts_at, rec.status = starts_at, status
    for key, value in values.items():
        setattr(rec, key, value)
    rec.built_at = utcnow()
    session.flush()
    if before != (rec.status, rec.manifest_hash):
        audit.record(session, actor=actor, action=f"program.edition.{status}", entity="program",
                     entity_id=program_id, slot_date=slot_date, area_code=area_code, language=language,
                     manifest_hash=rec.manifest_hash, error=rec.error or None)
    return rec


def editions_between(session: Session, *, area_codes: list[str], languages: list[str] | None, start: datetime,
                     end: datetime, status: str | None = None) -> list[ProgramEditionRecord]:
    q = (select(ProgramEditionRecord)
         .where(ProgramEditionRecord.area_code.in_(area_codes), ProgramEditionRecord.starts_at >= start,
                ProgramEditionRecord.starts_at < end)
         .order_by(ProgramEditionRecord.starts_at, ProgramEditionRecord.language))
    if languages is not None:
        q = q.where(ProgramEditionRecord.language.in_(languages))
    if status is not None:
        q = q.where(ProgramEditionRecord.status == status)
    return list(session.scalars(q))


def get_profile(session: Session, area_code: str) -> AreaProfileRecord | None:
    return session.get(AreaProfileRecord, area_code)


def all_profiles(session: Session) -> dict[str, AreaProfileRecord]:
    return {r.area_code: r for r in session.scalars(select(AreaProfileRecord))}


def set_profile(session: Session, *, area_code: str, quiet_hours: list[dict[str, Any]] | None,
                volume_profile: list[dict[str, Any]] | None, actor: str,
                default_packages: list[int] | None = None) -> AreaProfileRecord:
    """Set quiet hours, the volume profile and/or default content of an area (None leaves that part unchanged)."""
    rec = session.get(AreaProfileRecord, area_code)
    if rec is None:
        rec = AreaProfileRecord(area_code=area_code, quiet_hours=[], volume_profile=[], default_packages=[],
                                updated_by=actor)
        session.add(rec)
    if quiet_hours is not None:
        rec.quiet_hours = list(quiet_hours)
    if volume_profile is not None:
        rec.volume_profile = list(volume_profile)
    if default_packages is not None:
        rec.default_packages = list(default_packages)
    rec.updated_by = actor
    session.flush()
    audit.record(session, actor=actor, action="area.profile_set", entity="area", entity_id=area_code,
                 quiet_hours=rec.quiet_hours, volume_profile=rec.volume_profile,
                 default_packages=rec.default_packages)
    return rec


def airable_candidates(session: Session) -> list[Candidate]:
    """Every package that may air in a programme, with its targets, validity and audio per language.

    Three queries whatever the number of packages (packages with revisions, their audio assets, their
    approvals), so planning a thousand communes stays a matter of milliseconds per commune.
    """
    rows = session.execute(
        select(PackageRecord, DraftRevisionRecord)
        .join(DraftRevisionRecord, DraftRevisionRecord.id == PackageRecord.revision_id)
        .where(PackageRecord.status.in_([s.value for s in AIRABLE]), PackageRecord.manifest_hash.is_not(None))
    ).all()
    if not rows:
        return []
    ids = [pkg.id for pkg, _ in rows]
    audio: dict[int, dict[str, AudioRef]] = {}
    for a in session.scalars(select(AssetRecord).where(AssetRecord.package_id.in_(ids),
                                                       AssetRecord.kind == AssetKind.AUDIO.value)):
        duration = float(a.meta.get("duration_s") or 0.0)
        if duration > 0:
            audio.setdefault(a.package_id, {})[a.language] = AudioRef(a.key, a.sha256, a.size, duration)
    approved: set[tuple[int, str]] = {
        (r.package_id, r.manifest_hash)
        for r in session.scalars(select(ApprovalRecord).where(ApprovalRecord.package_id.in_(ids),
                                                              ApprovalRecord.decision == Decision.APPROVED.value))
    }
    return [
        Candidate(
            package_id=pkg.id, manifest_hash=pkg.manifest_hash or "", title=rev.title,
            priority=Priority(rev.priority), area_codes=tuple(rev.area_codes), audio=audio.get(pkg.id, {}),
            approved=(pkg.id, pkg.manifest_hash) in approved, embargo_at=rev.embargo_at,
            expires_at=rev.expires_at, ready_at=pkg.created_at,
        )
        for pkg, rev in rows
    ]


def airable_package_ids(session: Session, package_ids: list[int]) -> set[int]:
    """Which of these packages may still air (not withdrawn, killed, corrected or superseded since)."""
    if not package_ids:
        return set()
    return set(session.scalars(select(PackageRecord.id).where(
        PackageRecord.id.in_(package_ids), PackageRecord.status.in_([s.value for s in AIRABLE]))))
