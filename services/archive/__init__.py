"""The broadcast archive: searching it (this module), indexing packages (``indexing``), ingesting old
recordings (``ingest``).

Search reads at most ``CANDIDATES`` matches, newest first, from the full-text index, ranks them by
relevance and recency, and loads only the page shown. Officers see only entries aimed inside their
memberships' subtrees (``services.auth.visible_area_codes``).
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from domain.drafts import Channel
from domain.errors import InvalidInput, NotFound
from domain.languages import LANGUAGES
from domain.packages import PackageStatus
from domain.priority import parse_priority
from domain.search import FacetFilter, Query, area_filter_tokens, parse_query, snippet
from engines import asr
from services import areas as area_service
from storage.models_archive import ArchiveEntryRecord
from storage.objects import ObjectStore
from storage.repositories import archive
from storage.search import KEY_SHIFT, key_range

VN_TZ_OFFSET = timedelta(hours=7)  # Vietnam has no daylight saving time: dates are Vietnamese calendar days
ARCHIVED_STATUSES = (PackageStatus.PUBLISHED, PackageStatus.CORRECTED, PackageStatus.WITHDRAWN, PackageStatus.KILLED)
AUDIO_SUFFIXES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4"}
CANDIDATES = 200
MAX_PAGE = 100


# --- search ---


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """What an officer asks; every field but ``text`` is an optional filter."""

    text: str = ""
    exact: bool = False
    area: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    language: str | None = None
    priority: str | None = None
    channel: str | None = None
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True, slots=True)
class SearchResults:
    query: Query
    items: list[dict[str, Any]]
    total: int  # matches found, at most ``CANDIDATES``
    more: bool  # there may be more matches than ``total`` (narrow the search)
    page: int
    per_page: int


_VN_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_day(value: str | None, what: str) -> date | None:
    """``2024-03-05`` or ``05/03/2024`` (day first, as written in Vietnam); empty: None.

    Raises:
        InvalidInput: neither form, or no such day.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        m = _VN_DATE.match(text)
        return date(int(m[3]), int(m[2]), int(m[1])) if m else date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what}: '{value[:30]}' is not a date (use 2024-03-05 or 05/03/2024)") from None


def day_start(d: date) -> datetime:
    """Midnight in Vietnam at the start of ``d``, in UTC."""
    return datetime.combine(d, time(0), tzinfo=UTC) - VN_TZ_OFFSET


def _facets(s: Session, req: SearchRequest, visible: set[str] | None) -> FacetFilter | None:
    """The request's filters as facet groups; None when the user can see nothing."""
    facets = FacetFilter()
    if visible is not None:  # the subtrees' roots: visible codes whose parent is not visible
        parents = archive.parents_of(s, sorted(visible))
        roots = [c for c, parent in parents.items() if parent not in visible]
        if not roots:
            return None
        facets = facets.with_group(f"_u{c}" for c in sorted(roots))
    if req.area:
        code = area_service.code_from_option(s, req.area)  # a code, or a name ("Châu Thành, Vĩnh Long")
        chain = archive.area_chain(s, code) if code.isdigit() and len(code) <= 5 else None
        if chain is None:
            raise InvalidInput(f"unknown area code '{code[:20]}' (see 'bantin areas list')")
        toks = area_filter_tokens(code, chain)
        for other in sorted(area_service.archive_codes(s, code)):  # old units it absorbed, or what it became
            toks += area_filter_tokens(other, archive.area_chain(s, other) or [])
        facets = facets.with_group(toks)
    if req.language:
        lang = req.language.strip().lower()
        if lang not in LANGUAGES and lang not in asr.WHISPER_LANGUAGES:
            raise InvalidInput(f"unknown language '{lang[:20]}'")
        facets = facets.with_group([f"_l{lang}"])
    if req.priority:
        facets = facets.with_group([f"_p{parse_priority(req.priority).value}"])
    if req.channel:
        try:
            channel = Channel(req.channel.strip().lower())
        except ValueError:
            raise InvalidInput(f"unknown channel '{req.channel[:20]}' (loudspeaker or board)") from None
        facets = facets.with_group([f"_c{channel.value}"])
    return facets


def search_archive(s: Session, req: SearchRequest, *, visible: set[str] | None = None,
                   now: datetime | None = None) -> SearchResults:
    """Find archive entries.

    Args:
        req: the query and filters.
        visible: area codes the asker may see (``auth.visible_area_codes``); None: everything.
        now: for recency (tests).

    Raises:
        InvalidInput: bad query text, unknown area, language, priority or channel, or dates the wrong way round.
    """
    query = parse_query(req.text, exact=req.exact)
    if req.date_from and req.date_to and req.date_from > req.date_to:
        raise InvalidInput("the 'from' date is after the 'to' date")
    page, per_page = max(1, req.page), min(max(1, req.per_page), MAX_PAGE)
    facets = _facets(s, req, visible)
    if facets is None:
        return SearchResults(query, [], 0, False, page, per_page)
    lo, hi = key_range(day_start(req.date_from) if req.date_from else None,
                       day_start(req.date_to + timedelta(days=1)) if req.date_to else None)
    hits = archive.search_hits(s, query, facets, lo=lo, hi=hi, cap=CANDIDATES)
    now_s = (now or datetime.now(UTC)).timestamp()
    best = max((h.relevance for h in hits), default=0.0) or 1.0

    def score(h: Any) -> float:
        age_days = max(0.0, now_s - (h.doc_key >> KEY_SHIFT)) / 86400
        recency = 1.0 / (1.0 + age_days / 365)
        return recency if query.is_empty else 0.7 * h.relevance / best + 0.3 * recency

    ranked = sorted(hits, key=score, reverse=True)
    shown = ranked[(page - 1) * per_page: page * per_page]
    entries = archive.entries_by_keys(s, [h.doc_key for h in shown])
    live = archive.package_states(s, [r.package_id for r in entries if r.package_id is not None])
    plays = archive.plays_of(s, sorted({m for _, m in live.values() if m}), visible=visible)
    items = []
    for rec in entries:
        status, manifest = live.get(rec.package_id, (rec.status, None)) if rec.package_id else (rec.status, None)
        item = _item(rec, query, status)
        item["plays"] = play_summary([p for p in plays if p.manifest_hash == manifest], rec.language)
        item["area_names"] = area_service.area_names(s, item["areas"])  # old units with what they are now
        items.append(item)
    return SearchResults(query, items, len(hits), len(hits) >= CANDIDATES, page, per_page)


def _item(rec: ArchiveEntryRecord, query: Query, status: str) -> dict[str, Any]:
    """One result; ``status`` is the package's live one, so a withdrawal after indexing shows at once."""
    found = None
    for sec in [*rec.sections, {"kind": "title", "text": rec.title}]:  # the title is shown anyway: last resort
        candidate = snippet(str(sec.get("text", "")), query)
        if candidate is not None and (candidate.marks or query.is_empty):
            found = candidate
            break
    if found is None and rec.sections:  # e.g. a phrase spanning two sections
        found = snippet(str(rec.sections[0].get("text", "")), parse_query(""))
    moments = []
    if not query.is_empty:
        for start, end, text in rec.segments:
            seg = snippet(text, query)
            if seg is not None and seg.marks:
                moments.append({"start": start, "end": end, "snippet": seg.fragments()})
                if len(moments) == 5:
                    break
    return {
        "id": rec.id, "kind": rec.kind, "package_id": rec.package_id, "title": rec.title, "language": rec.language,
        "areas": list(rec.area_codes), "priority": rec.priority, "channels": list(rec.channels), "status": status,
        "flagged": status in (PackageStatus.CORRECTED, PackageStatus.WITHDRAWN, PackageStatus.KILLED),
        "broadcast_at": rec.broadcast_at.isoformat(), "snippet": found.fragments() if found else [],
        "has_recording": bool(rec.recording_key), "moments": moments, "source": rec.source_name,
        "duration_s": rec.duration_s,
    }


def play_summary(plays: list[archive.Play], language: str) -> dict[str, Any]:
    """Where and when a variant was played: counts, first and last time, per area, the latest plays.

    Device items are ``<manifest prefix>.<language>``; plays of the other languages are not this entry's.
    """
    mine = [p for p in plays if "." not in p.item_id or p.item_id.rsplit(".", 1)[1] == language]
    per_area: dict[str, int] = {}
    for p in mine:
        per_area[p.area_code] = per_area.get(p.area_code, 0) + 1
    return {
        "count": len(mine), "completed": sum(p.completed for p in mine), "devices": len({p.device for p in mine}),
        "first": mine[0].started_at.isoformat() if mine else None,
        "last": mine[-1].started_at.isoformat() if mine else None,
        "areas": [{"code": c, "count": n} for c, n in sorted(per_area.items(), key=lambda kv: -kv[1])],
        "recent": [{"device": p.device, "area": p.area_code, "at": p.started_at.isoformat(), "completed": p.completed}
                   for p in mine[-5:][::-1]],
    }


def entry_for_user(s: Session, entry_id: int, visible: set[str] | None) -> ArchiveEntryRecord:
    """An entry the user may see.

    Raises:
        NotFound: no such entry, or it is outside what the user may see (no hint which).
    """
    rec = s.get(ArchiveEntryRecord, entry_id)
    if rec is None or (visible is not None and not visible & set(rec.area_codes)):
        raise NotFound(f"no archive entry {entry_id}")
    return rec


def entry_recording(s: Session, store: ObjectStore, entry_id: int, visible: set[str] | None) -> tuple[bytes, str]:
    """The bytes and media type of an entry's recording, for a user who may see the entry.

    Raises:
        NotFound: no such entry, not visible, or no recording.
    """
    rec = entry_for_user(s, entry_id, visible)
    if not rec.recording_key:
        raise NotFound(f"archive entry {entry_id} has no recording")
    suffix = Path(rec.recording_key).suffix.lower()
    return store.get_bytes(rec.recording_key), AUDIO_SUFFIXES.get(suffix, "audio/mpeg")
