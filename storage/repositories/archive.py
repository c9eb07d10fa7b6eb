"""Archive entries and their full-text index, kept in step in the caller's transaction."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from domain.search import EntryKind, FacetFilter, Query, area_tokens, facet_tokens, tokens
from storage.models import AreaRecord, PackageRecord
from storage.models_archive import ArchiveEntryRecord
from storage.models_devices import DeviceRecord, PlayLogRecord
from storage.search import Hit, IndexDoc, backend_for, doc_key

ENTRY_KINDS = tuple(EntryKind)


@dataclass(frozen=True, slots=True)
class EntryData:
    """Everything an entry holds; identity is ``(package_id, language)`` or ``source_sha256``."""

    kind: str
    language: str
    title: str
    sections: list[dict[str, str]]
    area_codes: list[str]
    status: str
    broadcast_at: datetime
    package_id: int | None = None
    source_sha256: str | None = None
    priority: str | None = None
    channels: list[str] = field(default_factory=list)
    segments: list[list[Any]] = field(default_factory=list)
    recording_key: str | None = None
    transcript_key: str | None = None
    source_name: str = ""
    duration_s: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def searchable_text(title: str, sections: list[dict[str, str]]) -> str:
    """The text an entry is found by: its title and every section, in order."""
    return "\n".join([title, *(str(sec.get("text", "")) for sec in sections)])


def ancestors_map(s: Session) -> dict[str, list[str]]:
    """Area code -> its ancestors' codes, nearest first (loaded once per session)."""
    cached: dict[str, list[str]] | None = s.info.get("bantin.area_ancestors")
    if cached is None:
        parent = dict(s.execute(select(AreaRecord.code, AreaRecord.parent_code)).tuples().all())
        cached = {}
        for code in parent:
            chain, cur = [], parent.get(code)
            while cur is not None and cur not in chain:
                chain.append(cur)
                cur = parent.get(cur)
            cached[code] = chain
        s.info["bantin.area_ancestors"] = cached
    return cached


def parents_of(s: Session, codes: list[str]) -> dict[str, str | None]:
    """The parent of each known area code (unknown codes are left out)."""
    if not codes:
        return {}
    rows = s.execute(select(AreaRecord.code, AreaRecord.parent_code).where(AreaRecord.code.in_(codes)))
    return dict(rows.tuples().all())


_CHAIN = text("""
WITH RECURSIVE chain(code, parent_code, depth) AS (
    SELECT code, parent_code, 0 FROM areas WHERE code = :code
    UNION ALL
    SELECT a.code, a.parent_code, chain.depth + 1 FROM areas a JOIN chain ON a.code = chain.parent_code
    WHERE chain.depth < 10
)
SELECT code FROM chain ORDER BY depth""")


def area_chain(s: Session, code: str) -> list[str] | None:
    """The ancestors of ``code``, nearest first; None for an unknown code (one query)."""
    codes = list(s.execute(_CHAIN, {"code": code}).scalars())
    return codes[1:] if codes else None


def make_index_doc(*, doc_key: int, title: str, sections: list[dict[str, str]], area_codes: list[str],
                   language: str, priority: str | None, channels: list[str], status: str, kind: str,
                   ancestors: dict[str, list[str]]) -> IndexDoc:
    """The index's view of an entry (pure given the area tree)."""
    body = searchable_text(title, sections)
    return IndexDoc(
        doc_key=doc_key, folded=tokens(body), exact=tokens(body, exact=True),
        facets=facet_tokens(areas=area_tokens(area_codes, ancestors), language=language, priority=priority,
                            channels=channels, status=status, kind=kind))


def index_doc(rec: ArchiveEntryRecord, ancestors: dict[str, list[str]]) -> IndexDoc:
    """The index's view of a stored entry."""
    return make_index_doc(doc_key=rec.doc_key, title=rec.title, sections=rec.sections, area_codes=rec.area_codes,
                          language=rec.language, priority=rec.priority, channels=rec.channels, status=rec.status,
                          kind=rec.kind, ancestors=ancestors)


def find_entry(s: Session, *, package_id: int | None = None, language: str | None = None,
               source_sha256: str | None = None) -> ArchiveEntryRecord | None:
    if source_sha256 is not None:
        return s.scalar(select(ArchiveEntryRecord).where(ArchiveEntryRecord.source_sha256 == source_sha256))
    return s.scalar(select(ArchiveEntryRecord).where(ArchiveEntryRecord.package_id == package_id,
                                                     ArchiveEntryRecord.language == language))


def _free_key(s: Session, at: datetime, salt: int, own_id: int | None) -> int:
    """A doc_key for ``at`` not used by another entry (same-second neighbours move up by one)."""
    key = doc_key(at, salt)
    while True:
        other = s.scalar(select(ArchiveEntryRecord.id).where(ArchiveEntryRecord.doc_key == key))
        if other is None or other == own_id:
            return key
        key += 1


def upsert_entry(s: Session, data: EntryData, *, salt: int) -> tuple[ArchiveEntryRecord, bool]:
    """Insert or update the entry with ``data``'s identity and (re)index it.

    Args:
        salt: a stable number for the entry (e.g. package id * 64 + language slot) spreading same-second keys.

    Returns:
        The record and whether it was created.
    """
    if data.kind not in ENTRY_KINDS:
        raise ValueError(f"unknown archive entry kind {data.kind!r}")
    rec = find_entry(s, package_id=data.package_id, language=data.language, source_sha256=data.source_sha256)
    created = rec is None
    old_key = None if rec is None else rec.doc_key
    key = _free_key(s, data.broadcast_at, salt, None if rec is None else rec.id)
    if rec is None:
        rec = ArchiveEntryRecord()
        s.add(rec)
    for name in EntryData.__slots__:
        setattr(rec, name, getattr(data, name))
    rec.title = data.title[:300]
    rec.doc_key = key
    s.flush()
    backend = backend_for(s)
    if old_key is not None and old_key != rec.doc_key:
        backend.delete(s, [old_key])
    backend.put(s, [index_doc(rec, ancestors_map(s))])
    return rec, created


def set_status(s: Session, rec: ArchiveEntryRecord, status: str) -> None:
    """Change an entry's status (e.g. withdrawn) and its facet tokens."""
    rec.status = status
    s.flush()
    backend_for(s).put(s, [index_doc(rec, ancestors_map(s))])


def entries_of_package(s: Session, package_id: int) -> list[ArchiveEntryRecord]:
    return list(s.scalars(select(ArchiveEntryRecord).where(ArchiveEntryRecord.package_id == package_id)
                          .order_by(ArchiveEntryRecord.language)))


def all_entry_ids(s: Session, kind: str | None = None) -> list[int]:
    q = select(ArchiveEntryRecord.id).order_by(ArchiveEntryRecord.id)
    if kind:
        q = q.where(ArchiveEntryRecord.kind == kind)
    return list(s.scalars(q))


def reindex_entries(s: Session, ids: list[int]) -> int:
    """Write these entries' index documents again (after the index was cleared, or folding changed)."""
    recs = list(s.scalars(select(ArchiveEntryRecord).where(ArchiveEntryRecord.id.in_(ids))))
    anc = ancestors_map(s)
    backend_for(s).put(s, [index_doc(r, anc) for r in recs])
    return len(recs)


def clear_index(s: Session) -> None:
    backend_for(s).clear(s)


def count_entries(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(ArchiveEntryRecord)) or 0)


def count_indexed(s: Session) -> int:
    return backend_for(s).count(s)


def search_hits(s: Session, query: Query, facets: FacetFilter, *, lo: int | None, hi: int | None,
                cap: int) -> list[Hit]:
    """Matching index documents (at most ``cap``, newest first) with their relevance."""
    return backend_for(s).search(s, query, facets, lo=lo, hi=hi, cap=cap)


def entries_by_keys(s: Session, keys: list[int]) -> list[ArchiveEntryRecord]:
    """Entries in the order of ``keys`` (every key must exist: the index and the table change together)."""
    if not keys:
        return []
    by_key = {r.doc_key: r for r in s.scalars(select(ArchiveEntryRecord)
                                              .where(ArchiveEntryRecord.doc_key.in_(keys)))}
    return [by_key[k] for k in keys]


def package_states(s: Session, package_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """The current status and manifest hash of each package (one query for a page of results)."""
    if not package_ids:
        return {}
    rows = s.execute(select(PackageRecord.id, PackageRecord.status, PackageRecord.manifest_hash)
                     .where(PackageRecord.id.in_(package_ids)))
    return {pid: (status, manifest) for pid, status, manifest in rows.tuples()}


@dataclass(frozen=True, slots=True)
class Play:
    manifest_hash: str
    item_id: str
    device: str
    area_code: str
    started_at: datetime
    completed: bool


def plays_of(s: Session, manifest_hashes: list[str], *, visible: set[str] | None = None) -> list[Play]:
    """Play logs of these manifests with their devices' names and areas, oldest first (devices outside
    ``visible`` left out)."""
    if not manifest_hashes:
        return []
    q = (select(PlayLogRecord.manifest_hash, PlayLogRecord.item_id, DeviceRecord.name, DeviceRecord.area_code,
                PlayLogRecord.started_at, PlayLogRecord.completed)
         .join(DeviceRecord, DeviceRecord.id == PlayLogRecord.device_id)
         .where(PlayLogRecord.manifest_hash.in_(manifest_hashes)).order_by(PlayLogRecord.started_at))
    if visible is not None:
        q = q.where(DeviceRecord.area_code.in_(sorted(visible)))
    return [Play(*row) for row in s.execute(q).tuples()]
