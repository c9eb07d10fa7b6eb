"""Read models of packages for display."""

from typing import Any

from sqlalchemy.orm import Session

from domain.approvals import Decision
from domain.deliveries import DeliveryStatus, OutboxKind
from domain.packages import AssetKind
from domain.speech import slot_warning
from storage.objects import ObjectStore
from storage.repositories import audit, channels, drafts, outbox, packages


def package_view(s: Session, store: ObjectStore, package_id: int) -> dict[str, Any]:
    """Everything a reviewer needs to see of a package, as plain data (CLI, web, API).

    Raises:
        NotFound: no such package.
    """
    pkg = packages.get_package(s, package_id)
    rev = drafts.revision_by_id(s, pkg.revision_id)
    assets = packages.assets_of(s, package_id)
    variants = []
    for v in packages.variants_of(s, package_id):
        mine = [a for a in assets if a.language == v.language]
        variants.append({
            "language": v.language, "status": v.status.value, "blocked_reason": v.blocked_reason,
            "assets": [{"kind": a.kind, "key": a.key, "sha256": a.sha256, "size": a.size, "meta": a.meta,
                        "location": store.url(a.key)}
                       for a in mine if a.kind != AssetKind.RAW_SPEECH],
            "length_warning": length_warning({a.kind: a.meta for a in mine}),
        })
    return {
        "id": pkg.id, "draft_id": pkg.draft_id, "revision": rev.number, "status": pkg.status,
        "title": rev.content.title, "priority": rev.content.priority.value,
        "areas": list(rev.content.area_codes), "manifest_hash": pkg.manifest_hash,
        "manifest_key": pkg.manifest_key, "error": pkg.error, "variants": variants,
        "approvals": [{"decision": a.decision, "approver": a.approver, "at": a.created_at.isoformat(),
                       "manifest_hash": a.manifest_hash, "reason": a.reason}
                      for a in packages.approvals_of(s, package_id)],
        "flow_runs": [{"flow": e.action.removeprefix("flow."), "id": e.detail.get("flow_run_id", ""),
                       "at": e.at.isoformat()}
                      for e in audit.entries(s, entity="package", entity_id=package_id)
                      if e.action.startswith("flow.") and e.detail.get("flow_run_id")],
        "deliveries": [{"destination": t.name, "status": d.status, "attempts": d.attempts,
                        "receipt_id": d.receipt_id, "last_error": d.last_error}
                       for d, t in outbox.of_package(s, package_id, OutboxKind.DELIVERY)],
        "channels": channel_states(s, package_id),
    }


def length_warning(meta: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """How far a variant's produced audio lands from its slot, when more than the tolerance (see
    :func:`domain.speech.slot_warning`): its duration against the slot its script was made for. None when the
    variant has no audio yet or its script names no slot (a person's translation)."""
    audio, script = meta.get(AssetKind.AUDIO, {}), meta.get(AssetKind.SCRIPT, {})
    if not audio.get("duration_s") or not script.get("target_seconds"):
        return None
    whole = script.get("method") == "whole" and bool(audio.get("synthetic"))  # the machine read the whole draft
    warning = slot_warning(float(audio["duration_s"]), float(script["target_seconds"]), whole=whole)
    return warning.to_meta() if warning else None


def channel_states(s: Session, package_id: int) -> list[dict[str, Any]]:
    """Every publication channel of the package with its real state: each HTTP destination's delivery and each
    MQTT emergency push, so "published" is never read as "everyone has it"."""
    rows: list[dict[str, Any]] = [
        {"channel": "http", "name": t.name, "status": d.status, "attempts": d.attempts,
         "detail": d.receipt_id if d.status == DeliveryStatus.DELIVERED else d.last_error}
        for d, t in outbox.of_package(s, package_id, OutboxKind.DELIVERY)]
    rows += [{"channel": p.channel, "name": f"{p.channel.upper()} {p.action}", "status": p.status,
              "attempts": p.attempts, "detail": p.last_error}
             for p in channels.pushes_of(s, package_id)]
    return rows


def current_package_id(s: Session, package_id: int) -> int | None:
    """The newest package of the same draft when ``package_id`` has been replaced (a new revision or a
    translation made another one), else None: where a stale link or approval should point the reader.

    Raises:
        NotFound: no such package.
    """
    pkg = packages.get_package(s, package_id)
    newest = packages.packages_of_draft(s, pkg.draft_id)[-1]
    return newest.id if newest.id != pkg.id else None


def draft_rejections(s: Session, draft_id: int) -> list[dict[str, Any]]:
    """The approvers' rejections of a draft's packages, newest first, with their reasons (for the editor)."""
    out = []
    for pkg in packages.packages_of_draft(s, draft_id):
        for a in packages.approvals_of(s, pkg.id):
            if a.decision == Decision.REJECTED:
                out.append({"package_id": pkg.id, "approver": a.approver, "reason": a.reason, "at": a.created_at})
    return sorted(out, key=lambda r: r["package_id"], reverse=True)


def titles_by_manifest(s: Session, hashes: list[str]) -> dict[str, dict[str, Any]]:
    """Manifest hash -> the package and bulletin title it belongs to (play logs and inventories name hashes)."""
    from sqlalchemy import select

    from storage.models import PackageRecord

    wanted = sorted({h for h in hashes if h})
    out: dict[str, dict[str, Any]] = {}
    for pkg in s.scalars(select(PackageRecord).where(PackageRecord.manifest_hash.in_(wanted))) if wanted else []:
        rev = drafts.revision_by_id(s, pkg.revision_id)
        out[str(pkg.manifest_hash)] = {"package_id": pkg.id, "title": rev.content.title}
    return out
