"""Pre-approved emergency templates and the drafts made from them (the emergency fast path)."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from storage.models import EmergencyTemplateRecord, TemplateDraftRecord
from storage.repositories import audit


def add_template(
    session: Session, *, name: str, title: str, body: str, languages: list[str], area_code: str, content_hash: str,
    author: str,
) -> EmergencyTemplateRecord:
    """Store a template awaiting approval.

    Raises:
        InvalidInput: the name is taken.
    """
    if session.scalar(select(EmergencyTemplateRecord).where(EmergencyTemplateRecord.name == name)) is not None:
        raise InvalidInput(f"a template named '{name}' exists already")
    rec = EmergencyTemplateRecord(name=name, title=title, body=body, languages=languages, area_code=area_code,
                                  content_hash=content_hash, created_by=author)
    session.add(rec)
    session.flush()
    audit.record(session, actor=author, action="template.created", entity="template", entity_id=rec.id,
                 name=name, area_code=area_code, content_hash=content_hash)
    return rec


def get_template(session: Session, template_id: int) -> EmergencyTemplateRecord:
    rec = session.get(EmergencyTemplateRecord, template_id)
    if rec is None:
        raise NotFound(f"no emergency template with id {template_id}")
    return rec


def list_templates(session: Session) -> list[EmergencyTemplateRecord]:
    return list(session.scalars(select(EmergencyTemplateRecord).order_by(EmergencyTemplateRecord.name)))


def mark_approved(session: Session, rec: EmergencyTemplateRecord, *, approver: str) -> None:
    rec.approved_by, rec.approved_at = approver, datetime.now(UTC)
    session.flush()
    audit.record(session, actor=approver, action="template.approved", entity="template", entity_id=rec.id,
                 content_hash=rec.content_hash)


def mark_retired(session: Session, rec: EmergencyTemplateRecord, *, at: datetime) -> None:
    rec.retired_at = at
    session.flush()


def link_draft(session: Session, *, draft_id: int, template_id: int, revision_id: int) -> None:
    session.add(TemplateDraftRecord(draft_id=draft_id, template_id=template_id, revision_id=revision_id))
    session.flush()


def link_of(session: Session, draft_id: int) -> TemplateDraftRecord | None:
    return session.get(TemplateDraftRecord, draft_id)
