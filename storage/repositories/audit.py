"""Append-only, hash-chained audit log (the chain's rules are in ``domain.audit``).

Appending is serialised through the single ``audit_head`` row: :func:`record` first *updates* it, which
takes PostgreSQL's row lock (held to the end of the transaction; others wait, then see the new head)
and SQLite's database write lock (SQLite has one writer at a time). Writing before reading matters on
SQLite: a transaction that read the head and only then tried to write could act on a stale head. So two
transactions never chain onto the same entry, and a rolled-back transaction leaves no trace.

The lock is held until the caller's transaction ends, so audited transactions should stay short.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from domain.audit import GENESIS_HASH, AuditEntry, Finding, entry_hash, verify_chain
from domain.canonical import canonical_json
from domain.errors import InvalidInput
from storage.db import rowcount
from storage.models import AuditHeadRecord, AuditRecord

HEAD_ID = 1


def record(session: Session, *, actor: str, action: str, entity: str, entity_id: str | int, **detail: Any) -> None:
    """Append one entry; ``detail`` must be JSON-serialisable (engine, model, parameters...).

    Raises:
        InvalidInput: ``detail`` holds something JSON cannot carry (NaN, infinity, objects).
    """
    try:
        # Store exactly what is hashed: the canonical JSON round trip turns tuples into lists and so on.
        detail = json.loads(canonical_json(detail))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"audit detail for {action} is not plain JSON: {exc}") from None
    seq, prev_hash = _advance_head(session)
    entry = AuditEntry(seq=seq, at=datetime.now(UTC), actor=actor, action=action, entity=entity,
                       entity_id=str(entity_id), detail=detail, prev_hash=prev_hash)
    digest = entry_hash(entry)
    session.add(AuditRecord(seq=seq, at=entry.at, actor=actor, action=action, entity=entity,
                            entity_id=entry.entity_id, detail=detail, prev_hash=prev_hash, hash=digest))
    session.execute(update(AuditHeadRecord).where(AuditHeadRecord.id == HEAD_ID).values(hash=digest))
    session.flush()


def _advance_head(session: Session) -> tuple[int, str]:
    """Lock the head by bumping its sequence number; return the new number and the previous entry's hash."""
    bumped = session.execute(update(AuditHeadRecord).where(AuditHeadRecord.id == HEAD_ID)
                             .values(seq=AuditHeadRecord.seq + 1)
                             .execution_options(synchronize_session=False))
    if rowcount(bumped) == 0:  # a schema made without migrations (create_all): start the chain here
        session.add(AuditHeadRecord(id=HEAD_ID, seq=1, hash=GENESIS_HASH))
        session.flush()
    row = session.execute(select(AuditHeadRecord.seq, AuditHeadRecord.hash)
                          .where(AuditHeadRecord.id == HEAD_ID)
                          .execution_options(populate_existing=True)).one()
    return row.seq, row.hash


def entries(session: Session, *, entity: str, entity_id: str | int) -> list[AuditRecord]:
    stmt = select(AuditRecord).where(AuditRecord.entity == entity, AuditRecord.entity_id == str(entity_id))
    return list(session.scalars(stmt.order_by(AuditRecord.seq)))


def last_actions(session: Session, *, entity: str, entity_ids: list[str], actions: tuple[str, ...]) -> dict[str, str]:
    """The newest of ``actions`` recorded for each of ``entity_ids`` (ids without any are left out)."""
    if not entity_ids:
        return {}
    newest = (select(AuditRecord.entity_id, func.max(AuditRecord.seq).label("seq"))
              .where(AuditRecord.entity == entity, AuditRecord.entity_id.in_(entity_ids),
                     AuditRecord.action.in_(actions)).group_by(AuditRecord.entity_id).subquery())
    rows = session.execute(select(AuditRecord.entity_id, AuditRecord.action).join(
        newest, (newest.c.entity_id == AuditRecord.entity_id) & (newest.c.seq == AuditRecord.seq)))
    return {str(eid): str(action) for eid, action in rows}


def head(session: Session) -> tuple[int, str]:
    """The sequence number and hash of the last entry written (0 and the genesis hash when empty)."""
    rec = session.get(AuditHeadRecord, HEAD_ID)
    return (rec.seq, rec.hash) if rec else (0, GENESIS_HASH)


def _chain(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    stmt = select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=batch)
    for r in session.scalars(stmt):
        yield AuditEntry(seq=r.seq, at=r.at, actor=r.actor, action=r.action, entity=r.entity,
                         entity_id=r.entity_id, detail=r.detail, prev_hash=r.prev_hash, hash=r.hash, row_id=r.id)


def verify(session: Session) -> tuple[int, list[Finding]]:
    """Check the whole chain against the head; returns the entry count and every break found."""
    head_seq, head_hash = head(session)
    return verify_chain(_chain(session), head_seq=head_seq, head_hash=head_hash)


def hash_at(session: Session, seq: int) -> str | None:
    """The stored hash of entry ``seq`` (None when there is none)."""
    return session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == seq).limit(1))


def extent(session: Session) -> tuple[int, int]:
    """How many entries the table holds and its highest sequence number (0, 0 when empty)."""
    row = session.execute(select(func.count(AuditRecord.id), func.coalesce(func.max(AuditRecord.seq), 0))).one()
    return int(row[0]), int(row[1])


APPEND_ONLY_TRIGGERS = {
    "postgresql": ("audit_log_append_only", "audit_log_no_truncate"),
    "sqlite": ("audit_log_no_update", "audit_log_no_delete"),
}


def missing_guards(session: Session) -> list[str]:
    """The append-only triggers the migrations install that are gone (or disabled, on PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    wanted = APPEND_ONLY_TRIGGERS.get(dialect, ())
    if dialect == "postgresql":
        rows = session.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass "
                                    "AND tgenabled <> 'D'"))
    else:
        rows = session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                    "AND tbl_name = 'audit_log'"))
    present = {r[0] for r in rows}
    return [name for name in wanted if name not in present]
