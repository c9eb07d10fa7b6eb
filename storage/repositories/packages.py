"""Packages, their language variants and assets, and the approvals bound to their manifests."""

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.approvals import Decision
from domain.errors import NotFound
from domain.packages import Asset, AssetKind, PackageStatus, Variant, VariantStatus, transition_package
from storage.models import ApprovalRecord, AssetRecord, PackageRecord, VariantRecord, utcnow
from storage.objects import StoredObject
from storage.repositories import audit
from storage.repositories.cas import compare_and_set

# Statuses in which a package still represents its revision; a FAILED one is resumed, not replaced.
_LIVE = (PackageStatus.PRODUCING, PackageStatus.FAILED, PackageStatus.IN_REVIEW, PackageStatus.APPROVED,
         PackageStatus.SCHEDULED, PackageStatus.PUBLISHED)


def get_package(session: Session, package_id: int) -> PackageRecord:
    rec = session.get(PackageRecord, package_id)
    if rec is None:
        raise NotFound(f"no package with id {package_id}")
    return rec


def packages_in_status(session: Session, status: PackageStatus) -> list[PackageRecord]:
    return list(session.scalars(select(PackageRecord).where(PackageRecord.status == status.value)
                                .order_by(PackageRecord.id)))


def live_package_for_revision(session: Session, revision_id: int) -> PackageRecord | None:
    return session.scalar(
        select(PackageRecord)
        .where(PackageRecord.revision_id == revision_id, PackageRecord.status.in_([s.value for s in _LIVE]))
        .order_by(PackageRecord.id.desc())
        .limit(1)
    )


def rejected_package_for_revision(session: Session, revision_id: int) -> PackageRecord | None:
    return session.scalar(select(PackageRecord).where(PackageRecord.revision_id == revision_id,
                                                      PackageRecord.status == PackageStatus.REJECTED.value).limit(1))


def packages_of_draft(session: Session, draft_id: int) -> list[PackageRecord]:
    return list(session.scalars(select(PackageRecord).where(PackageRecord.draft_id == draft_id)
                                .order_by(PackageRecord.id)))


def create_package(session: Session, *, draft_id: int, revision_id: int, actor: str) -> PackageRecord:
    pkg = PackageRecord(draft_id=draft_id, revision_id=revision_id, status=PackageStatus.PRODUCING.value)
    session.add(pkg)
    session.flush()
    audit.record(session, actor=actor, action="package.created", entity="package", entity_id=pkg.id,
                 draft_id=draft_id, revision_id=revision_id)
    return pkg


def set_status(
    session: Session, pkg: PackageRecord, target: PackageStatus, *, actor: str, **detail: Any
) -> None:
    """Move ``pkg`` along the package state machine and audit it.

    The write is conditional on the status read earlier (compare-and-set), so two transactions that
    both read ``in_review`` cannot both win: the loser gets ``InvalidTransition`` instead of silently
    overwriting, e.g., ``superseded`` with ``approved``.

    Raises:
        InvalidTransition: the edge is not in the table, or the status changed since it was read.
    """
    current = PackageStatus(pkg.status)
    transition_package(current, target)
    values: dict[str, Any] = {"status": target.value, "updated_at": utcnow()}
    if target is PackageStatus.FAILED:
        values["error"] = str(detail.get("error", ""))
    elif target is PackageStatus.PRODUCING:
        values["error"] = ""
    compare_and_set(session, pkg, "package", current.value, target.value, values)
    audit.record(session, actor=actor, action=f"package.{target.value}", entity="package", entity_id=pkg.id,
                 **{"from": current.value, **detail})


def set_variant(
    session: Session, *, package_id: int, language: str, status: VariantStatus, blocked_reason: str = "",
    translated_by: str | None = None,
) -> None:
    """Record a variant's state. ``blocked_reason`` says why it is blocked, or, for a ready variant, what
    it still lacks (e.g. no voice for the loudspeakers). ``translated_by`` names the person who wrote it."""
    rec = session.scalar(select(VariantRecord).where(VariantRecord.package_id == package_id,
                                                     VariantRecord.language == language))
    if rec is None:
        session.add(VariantRecord(package_id=package_id, language=language, status=status.value,
                                  blocked_reason=blocked_reason, translated_by=translated_by))
    else:
        rec.status, rec.blocked_reason, rec.translated_by = status.value, blocked_reason, translated_by
    session.flush()


def variant_record(session: Session, package_id: int, language: str) -> VariantRecord | None:
    return session.scalar(select(VariantRecord).where(VariantRecord.package_id == package_id,
                                                      VariantRecord.language == language))


def record_asset(
    session: Session, *, package_id: int, language: str, kind: AssetKind, stored: StoredObject,
    meta: dict[str, Any], position: int = 0,
) -> AssetRecord:
    """Record (or replace, on a rerun) the asset in slot (package, language, kind, position)."""
    rec = session.scalar(select(AssetRecord).where(
        AssetRecord.package_id == package_id, AssetRecord.language == language,
        AssetRecord.kind == kind.value, AssetRecord.position == position))
    if rec is None:
        rec = AssetRecord(package_id=package_id, language=language, kind=kind.value, position=position)
        session.add(rec)
    rec.key, rec.sha256, rec.size, rec.media_type, rec.meta = (
        stored.key, stored.sha256, stored.size, stored.media_type, meta)
    session.flush()
    return rec


def drop_assets_from(session: Session, *, package_id: int, language: str, kind: AssetKind, position: int) -> None:
    """Forget slots at ``position`` and beyond (a rerun that renders fewer slides than before)."""
    session.execute(delete(AssetRecord).where(
        AssetRecord.package_id == package_id, AssetRecord.language == language,
        AssetRecord.kind == kind.value, AssetRecord.position >= position))


def get_asset(
    session: Session, *, package_id: int, language: str, kind: AssetKind, position: int = 0
) -> AssetRecord | None:
    return session.scalar(select(AssetRecord).where(
        AssetRecord.package_id == package_id, AssetRecord.language == language,
        AssetRecord.kind == kind.value, AssetRecord.position == position))


def assets_of(session: Session, package_id: int) -> list[AssetRecord]:
    return list(session.scalars(select(AssetRecord).where(AssetRecord.package_id == package_id)
                                .order_by(AssetRecord.language, AssetRecord.kind, AssetRecord.position)))


def variants_of(session: Session, package_id: int) -> list[Variant]:
    """Domain variants with their manifest assets (intermediate ``raw_*`` assets are left out)."""
    by_lang: dict[str, list[Asset]] = {}
    for a in assets_of(session, package_id):
        if not AssetKind(a.kind).in_manifest:
            continue
        by_lang.setdefault(a.language, []).append(
            Asset(AssetKind(a.kind), a.key, a.sha256, a.size, a.media_type, dict(a.meta)))
    recs = session.scalars(select(VariantRecord).where(VariantRecord.package_id == package_id)
                           .order_by(VariantRecord.language))
    return [
        Variant(r.language, VariantStatus(r.status),
                tuple(by_lang.get(r.language, ())) if r.status == VariantStatus.READY else (), r.blocked_reason)
        for r in recs
    ]


def add_approval(
    session: Session, *, package_id: int, manifest_hash: str, approver: str, decision: Decision, reason: str = ""
) -> ApprovalRecord:
    rec = ApprovalRecord(package_id=package_id, manifest_hash=manifest_hash, approver=approver,
                         decision=decision.value, reason=reason)
    session.add(rec)
    session.flush()
    audit.record(session, actor=approver, action=f"approval.{decision.value}", entity="package",
                 entity_id=package_id, manifest_hash=manifest_hash, reason=reason)
    return rec


def approvals_of(session: Session, package_id: int) -> list[ApprovalRecord]:
    return list(session.scalars(select(ApprovalRecord).where(ApprovalRecord.package_id == package_id)
                                .order_by(ApprovalRecord.id)))


def approved_hashes(session: Session, package_id: int) -> set[str]:
    return {a.manifest_hash for a in approvals_of(session, package_id) if a.decision == Decision.APPROVED.value}
