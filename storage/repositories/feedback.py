"""Feedback items and notes: persistence only (rules live in ``services.feedback``)."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from domain.errors import NotFound
from domain.feedback import FeedbackError, FeedbackState
from storage.db import rowcount
from storage.models_feedback import FeedbackNoteRecord, FeedbackRecord


def add(session: Session, **values: Any) -> FeedbackRecord:
    rec = FeedbackRecord(**values)
    session.add(rec)
    session.flush()
    return rec


def get(session: Session, feedback_id: int) -> FeedbackRecord:
    rec = session.get(FeedbackRecord, feedback_id)
    if rec is None:
        raise NotFound(f"Không có phản ánh số {feedback_id}.")
    return rec


def by_code(session: Session, code: str) -> FeedbackRecord:
    rec = session.scalar(select(FeedbackRecord).where(FeedbackRecord.tracking_code == code))
    if rec is None:
        raise NotFound(f"Không tìm thấy phản ánh có mã {code}.")
    return rec


def code_exists(session: Session, code: str) -> bool:
    return session.scalar(select(func.count()).where(FeedbackRecord.tracking_code == code)) != 0


def compare_and_set(session: Session, rec: FeedbackRecord, *, expected: FeedbackState, **values: Any) -> None:
    """Write ``values`` only if the row still has ``expected`` state and the version read; bump the version.

    Raises:
        FeedbackError: someone else changed the item meanwhile (nothing written).
    """
    result = session.execute(
        update(FeedbackRecord)
        .where(FeedbackRecord.id == rec.id, FeedbackRecord.state == expected.value,
               FeedbackRecord.version == rec.version)
        .values(version=rec.version + 1, **values)
        .execution_options(synchronize_session=False))
    if rowcount(result) != 1:
        raise FeedbackError("conflict", "Phản ánh vừa được người khác thay đổi; hãy tải lại trang và thử lại.")
    session.refresh(rec)


def update_fields(session: Session, rec: FeedbackRecord, **values: Any) -> None:
    """Fields outside the state machine (transcript, bulletin link, erased contact)."""
    for k, v in values.items():
        setattr(rec, k, v)
    session.flush()


def query(
    session: Session, *, units: Iterable[str] | None = None, states: Iterable[str] | None = None,
    area_codes: Iterable[str] | None = None, category: str | None = None, limit: int = 200,
) -> list[FeedbackRecord]:
    """Items, oldest due first; ``units``/``area_codes`` None: no filter on them."""
    stmt = select(FeedbackRecord)
    if units is not None:
        stmt = stmt.where(FeedbackRecord.unit_code.in_(list(units)))
    if states is not None:
        stmt = stmt.where(FeedbackRecord.state.in_(list(states)))
    if area_codes is not None:
        stmt = stmt.where(FeedbackRecord.area_code.in_(list(area_codes)))
    if category:
        stmt = stmt.where(FeedbackRecord.category == category)
    return list(session.scalars(stmt.order_by(FeedbackRecord.due_date, FeedbackRecord.id).limit(limit)))


def received_between(session: Session, start: datetime, end: datetime,
                     area_codes: Iterable[str] | None) -> list[FeedbackRecord]:
    stmt = select(FeedbackRecord).where(FeedbackRecord.received_at >= start, FeedbackRecord.received_at < end)
    if area_codes is not None:
        stmt = stmt.where(FeedbackRecord.area_code.in_(list(area_codes)))
    return list(session.scalars(stmt.order_by(FeedbackRecord.id)))


def recent_in_area(session: Session, area_code: str, since: datetime, exclude_id: int | None) -> list[FeedbackRecord]:
    stmt = select(FeedbackRecord).where(FeedbackRecord.area_code == area_code, FeedbackRecord.received_at >= since)
    if exclude_id is not None:
        stmt = stmt.where(FeedbackRecord.id != exclude_id)
    return list(session.scalars(stmt.order_by(FeedbackRecord.id.desc()).limit(500)))


def contacts_older_than(session: Session, before: datetime) -> list[FeedbackRecord]:
    """Items received before ``before`` that still hold contact data, a photo or a voice message."""
    stmt = select(FeedbackRecord).where(
        FeedbackRecord.received_at < before, FeedbackRecord.contact_erased_at.is_(None))
    return list(session.scalars(stmt.order_by(FeedbackRecord.id)))


def erase_contact(session: Session, rec: FeedbackRecord, at: datetime) -> bool:
    """Erase the item's contact data and voice link, compare-and-set on its not being erased yet: of two
    erasers at the same moment (overlapping runs), one erases it and the other gets False (PostgreSQL makes
    the second wait for the first one's transaction, then finds it erased)."""
    values: dict[str, Any] = {"contact_name": None, "contact_phone": None, "voice_key": None, "voice_type": None,
                              "contact_erased_at": at}
    result = session.execute(update(FeedbackRecord).where(
        FeedbackRecord.id == rec.id, FeedbackRecord.contact_erased_at.is_(None)).values(**values)
        .execution_options(synchronize_session=False))
    if rowcount(result) != 1:
        return False
    for key, value in values.items():
        set_committed_value(rec, key, value)
    return True


def voice_in_use(session: Session, key: str) -> bool:
    """Whether any item still links this voice object (content-addressed: identical uploads share a key)."""
    return session.scalar(select(func.count()).where(FeedbackRecord.voice_key == key)) != 0


def add_note(session: Session, feedback_id: int, author: str, text: str) -> FeedbackNoteRecord:
    rec = FeedbackNoteRecord(feedback_id=feedback_id, author=author, text=text)
    session.add(rec)
    session.flush()
    return rec


def notes(session: Session, feedback_id: int) -> list[FeedbackNoteRecord]:
    stmt = select(FeedbackNoteRecord).where(FeedbackNoteRecord.feedback_id == feedback_id)
    return list(session.scalars(stmt.order_by(FeedbackNoteRecord.id)))
