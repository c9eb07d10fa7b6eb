"""What the public feeds list: published packages reaching an area, one entry per language heard there."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.feedback import public_feedback_qr_url, public_feedback_url
from domain.feeds import FeedEntry
from domain.packages import AssetKind, PackageStatus, VariantStatus
from services import areas as area_service
from services.devices import area_chain, area_languages, area_map
from storage.models import AssetRecord, DraftRevisionRecord, PackageRecord, VariantRecord
from storage.objects import LocalObjectStore, ObjectStore
from storage.repositories import audit

MAX_ENTRIES = 50


def feed_entries(s: Session, store: ObjectStore, area_code: str, base_url: str) -> list[FeedEntry]:
    """Published, unexpired packages targeted at ``area_code`` or an ancestor, newest first.

    Raises:
        NotFound: unknown area.
    """
    from domain.errors import NotFound

    all_areas = area_map(s)
    if area_code not in all_areas:
        raise NotFound(f"unknown area {area_code}")
    chain = area_service.with_old_codes(s, set(area_chain(area_code, all_areas)))  # and units it absorbed
    languages = area_languages(area_code, all_areas)
    now = datetime.now(UTC)
    rows = s.execute(select(PackageRecord, DraftRevisionRecord)
                     .join(DraftRevisionRecord, PackageRecord.revision_id == DraftRevisionRecord.id)
                     .where(PackageRecord.status == PackageStatus.PUBLISHED.value)
                     .order_by(PackageRecord.updated_at.desc())).tuples()
    entries: list[FeedEntry] = []
    for pkg, rev in rows:
        if not chain.intersection(rev.area_codes) or (rev.expires_at is not None and rev.expires_at <= now):
            continue
        if rev.embargo_at is not None and rev.embargo_at > now:
            continue
        ready = {v.language for v in s.scalars(select(VariantRecord).where(
            VariantRecord.package_id == pkg.id, VariantRecord.status == VariantStatus.READY))}
        assets = list(s.scalars(select(AssetRecord).where(AssetRecord.package_id == pkg.id)))
        published = next((e.at for e in audit.entries(s, entity="package", entity_id=pkg.id)
                          if e.action == "package.published"), pkg.updated_at)
        feedback = public_feedback_url(base_url, area_code, pkg.id)
        qr = public_feedback_qr_url(base_url, area_code, pkg.id)
        for lang in languages:
            if lang not in ready:
                continue
            text = next((a for a in assets if a.language == lang and a.kind == AssetKind.BOARD_TEXT.value), None)
            audio = next((a for a in assets if a.language == lang and a.kind == AssetKind.AUDIO.value), None)
            url = None
            if audio is not None:
                url = (f"{base_url}/feeds/files/{audio.sha256}" if isinstance(store, LocalObjectStore)
                       else store.url(audio.key))
            entries.append(FeedEntry(
                id=f"{(pkg.manifest_hash or '')[:16]}.{lang}", title=rev.title if lang == "vi" else
                _first_line(store, text) or rev.title, text=store.get_bytes(text.key).decode("utf-8") if text else "",
                language=lang, priority=rev.priority, published_at=published, expires_at=rev.expires_at,
                audio_url=url, audio_type=audio.media_type if audio else None, audio_size=audio.size if audio else None,
                audio_sha256=audio.sha256 if audio else None, manifest_hash=pkg.manifest_hash or "",
                feedback_url=feedback, feedback_qr_url=qr))
        if len(entries) >= MAX_ENTRIES:
            break
    return entries[:MAX_ENTRIES]


def _first_line(store: ObjectStore, rec: AssetRecord | None) -> str:
    if rec is None:
        return ""
    lines = store.get_bytes(rec.key).decode("utf-8").strip().splitlines()
    return lines[0][:160] if lines else ""


def public_file(s: Session, sha256: str) -> AssetRecord:
    """A published package's audio or slide, for feed readers (nothing else is public).

    Raises:
        NotFound: no such published file.
    """
    from domain.errors import NotFound

    rec = s.scalar(select(AssetRecord).join(PackageRecord, AssetRecord.package_id == PackageRecord.id)
                   .where(AssetRecord.sha256 == sha256, PackageRecord.status == PackageStatus.PUBLISHED.value,
                          AssetRecord.kind.in_([AssetKind.AUDIO.value, AssetKind.SLIDE.value])).limit(1))
    if rec is None:
        raise NotFound("no such published file")
    return rec
