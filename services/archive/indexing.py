"""Putting published packages into the archive, and rebuilding the whole index."""

import json
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.search import EntryKind
from services.archive import ARCHIVED_STATUSES
from storage.objects import ObjectStore
from storage.repositories import archive, audit, drafts, packages


def _broadcast_time(s: Session, package_id: int, fallback: datetime) -> datetime:
    published = [e.at for e in audit.entries(s, entity="package", entity_id=package_id)
                 if e.action == "package.published"]
    return published[0] if published else fallback


def _transcript_of(s: Session, store: ObjectStore, draft_id: int) -> tuple[str, list[list[Any]]] | None:
    """The newest machine transcript of an audio draft: its key and timed segments."""
    keys = [e.detail["transcript_key"] for e in audit.entries(s, entity="draft", entity_id=draft_id)
            if isinstance(e.detail.get("transcript_key"), str)]
    if not keys:
        return None
    data = json.loads(store.get_bytes(keys[-1]))
    return keys[-1], [[seg["start"], seg["end"], seg["text"]] for seg in data.get("segments", [])]


def index_package(s: Session, store: ObjectStore, package_id: int, *, actor: str = "system") -> list[int]:
    """Index (or re-index: idempotent) every ready language variant of an archived package.

    Packages not yet published (or never published) are left out; other packages of the same draft get
    their entries' status refreshed, so a corrected bulletin is flagged rather than hidden.

    Returns:
        The ids of the package's archive entries (empty when it is not in the archive).

    Raises:
        NotFound: no such package.
    """
    pkg = packages.get_package(s, package_id)
    for sibling in packages.packages_of_draft(s, pkg.draft_id):
        for rec in archive.entries_of_package(s, sibling.id):
            if rec.status != sibling.status:
                archive.set_status(s, rec, sibling.status)
    if PackageStatus(pkg.status) not in ARCHIVED_STATUSES:
        return []
    rev = drafts.revision_by_id(s, pkg.revision_id)
    content = rev.content
    at = _broadcast_time(s, package_id, pkg.updated_at)
    transcript = _transcript_of(s, store, rev.draft_id) if rev.source_kind.value == "audio" else None
    ids = []
    for variant in packages.variants_of(s, package_id):
        if variant.status is not VariantStatus.READY:
            continue  # a blocked variant was never broadcast
        sections = []
        if variant.language == "vi":
            sections.append({"kind": "body", "text": content.body})
        audio_key = None
        for asset in variant.assets:
            if asset.kind in (AssetKind.SCRIPT, AssetKind.BOARD_TEXT):
                sections.append({"kind": asset.kind.value, "text": store.get_bytes(asset.key).decode("utf-8")})
            elif asset.kind is AssetKind.AUDIO:
                audio_key = asset.key
        data = archive.EntryData(
            kind=EntryKind.PACKAGE, package_id=package_id, language=variant.language, title=content.title,
            sections=sections, area_codes=list(content.area_codes), status=pkg.status, broadcast_at=at,
            priority=content.priority.value, channels=[c.value for c in content.channels], recording_key=audio_key,
            source_name=f"package {package_id} (draft {rev.draft_id} r{rev.number})",
            meta={"manifest_hash": pkg.manifest_hash, "draft_id": rev.draft_id, "revision": rev.number})
        if transcript is not None and variant.language == "vi":
            # The editor's own recording, with timestamps: hits in it link to the moment they were said.
            data = _with_transcript(data, rev.source_key, *transcript)
        rec, _ = archive.upsert_entry(s, data, salt=zlib.crc32(f"{package_id}:{variant.language}".encode()))
        ids.append(rec.id)
    audit.record(s, actor=actor, action="archive.indexed", entity="package", entity_id=package_id, entries=ids)
    return ids


def _with_transcript(data: archive.EntryData, recording_key: str | None, transcript_key: str,
                     segments: list[list[Any]]) -> archive.EntryData:
    text = " ".join(str(seg[2]) for seg in segments)
    return archive.EntryData(**{**{k: getattr(data, k) for k in archive.EntryData.__slots__},
                                "sections": [*data.sections, {"kind": "transcript", "text": text}],
                                "segments": segments, "recording_key": recording_key or data.recording_key,
                                "transcript_key": transcript_key})


def archived_package_ids(s: Session) -> list[int]:
    ids: list[int] = []
    for status in ARCHIVED_STATUSES:
        ids.extend(p.id for p in packages.packages_in_status(s, status))
    return sorted(ids)


def reindex(open_session: Callable[[], AbstractContextManager[Session]], store: ObjectStore,
            *, batch: int = 200, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Rebuild the index: clear it, index every archived package, re-index the ingested recordings.

    Returns:
        Counts: ``packages``, ``entries`` (of packages), ``recordings``.
    """
    with open_session() as s:
        archive.clear_index(s)
        package_ids = archived_package_ids(s)
        recording_ids = archive.all_entry_ids(s, kind=EntryKind.RECORDING)
    entries = 0
    for i in range(0, len(package_ids), batch):
        with open_session() as s:
            for pid in package_ids[i:i + batch]:
                entries += len(index_package(s, store, pid))
        if progress:
            progress(min(batch, len(package_ids) - i))
    for i in range(0, len(recording_ids), batch):
        with open_session() as s:
            archive.reindex_entries(s, recording_ids[i:i + batch])
    counts = {"packages": len(package_ids), "entries": entries, "recordings": len(recording_ids)}
    with open_session() as s:
        audit.record(s, actor="system", action="archive.reindexed", entity="archive", entity_id="all", **counts)
    return counts


