"""Append-only audit log."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditRecord


def record(session: Session, *, actor: str, action: str, entity: str, entity_id: str | int, **detail: Any) -> None:
    """Append one entry; ``detail`` must be JSON-serialisable (engine, model, parameters...)."""
    session.add(AuditRecord(actor=actor, action=action, entity=entity, entity_id=str(entity_id), detail=detail))


def entries(session: Session, *, entity: str, entity_id: str | int) -> list[AuditRecord]:
    stmt = select(AuditRecord).where(AuditRecord.entity == entity, AuditRecord.entity_id == str(entity_id))
    return list(session.scalars(stmt.order_by(AuditRecord.id)))
