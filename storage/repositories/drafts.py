"""Drafts and their immutable revisions."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.drafts import Channel, DraftContent, DraftRevision, SourceKind
from domain.errors import NotFound
from domain.priority import Priority
from storage.models import DraftRecord, DraftRevisionRecord


def _to_domain(rec: DraftRevisionRecord) -> DraftRevision:
    content = DraftContent(
        title=rec.title,
        body=rec.body,
        area_codes=tuple(rec.area_codes),
        languages=tuple(rec.languages),
        priority=Priority(rec.priority),
        channels=tuple(Channel(c) for c in rec.channels),
        source_ref=rec.source_ref,
        requesting_unit=rec.requesting_unit,
        embargo_at=rec.embargo_at,
        expires_at=rec.expires_at,
    )
    return DraftRevision(
        draft_id=rec.draft_id,
        number=rec.number,
        content=content,
        author=rec.author,
        created_at=rec.created_at,
        source_kind=SourceKind(rec.source_kind),
        source_key=rec.source_key,
        note=rec.note,
    )


def create_draft(
    session: Session, *, content: DraftContent, author: str, source_kind: SourceKind = SourceKind.TEXT,
    source_key: str | None = None, note: str = "",
) -> DraftRevision:
    """Store a new draft with its first revision. ``content`` must already be validated."""
    draft = DraftRecord(author=author)
    session.add(draft)
    session.flush()
    return add_revision(session, draft_id=draft.id, content=content, author=author, source_kind=source_kind,
                        source_key=source_key, note=note)


def add_revision(
    session: Session, *, draft_id: int, content: DraftContent, author: str,
    source_kind: SourceKind = SourceKind.TEXT, source_key: str | None = None, note: str = "",
) -> DraftRevision:
    """Append a revision; earlier revisions are never modified."""
    number = (session.scalar(select(func.max(DraftRevisionRecord.number)).where(
        DraftRevisionRecord.draft_id == draft_id)) or 0) + 1
    rec = DraftRevisionRecord(
        draft_id=draft_id,
        number=number,
        title=content.title,
        body=content.body,
        area_codes=list(content.area_codes),
        languages=list(content.languages),
        priority=content.priority.value,
        channels=[c.value for c in content.channels],
        source_ref=content.source_ref,
        requesting_unit=content.requesting_unit,
        embargo_at=content.embargo_at,
        expires_at=content.expires_at,
        source_kind=source_kind.value,
        source_key=source_key,
        content_hash=content.content_hash(),
        author=author,
        note=note,
    )
    session.add(rec)
    session.flush()
    return _to_domain(rec)


def latest_revision_record(session: Session, draft_id: int) -> DraftRevisionRecord:
    rec = session.scalar(
        select(DraftRevisionRecord)
        .where(DraftRevisionRecord.draft_id == draft_id)
        .order_by(DraftRevisionRecord.number.desc())
        .limit(1)
    )
    if rec is None:
        raise NotFound(f"no draft with id {draft_id}")
    return rec


def latest_revision(session: Session, draft_id: int) -> DraftRevision:
    return _to_domain(latest_revision_record(session, draft_id))


def revision_by_id(session: Session, revision_id: int) -> DraftRevision:
    rec = session.get(DraftRevisionRecord, revision_id)
    if rec is None:
        raise NotFound(f"no draft revision with id {revision_id}")
    return _to_domain(rec)


def list_drafts(session: Session, *, limit: int = 50) -> list[DraftRevisionRecord]:
    """The latest revision of each draft, newest draft first."""
    latest = (
        select(DraftRevisionRecord.draft_id, func.max(DraftRevisionRecord.number).label("n"))
        .group_by(DraftRevisionRecord.draft_id)
        .subquery()
    )
    stmt = (
        select(DraftRevisionRecord)
        .join(latest, (DraftRevisionRecord.draft_id == latest.c.draft_id) & (DraftRevisionRecord.number == latest.c.n))
        .order_by(DraftRevisionRecord.draft_id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def get_draft(session: Session, draft_id: int) -> DraftRecord:
    rec = session.get(DraftRecord, draft_id)
    if rec is None:
        raise NotFound(f"no draft with id {draft_id}")
    return rec
