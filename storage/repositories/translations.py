"""Translations and recordings supplied by people, per draft revision and language (append-only)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import RecordingRecord, TranslationRecord


def add_translation(
    session: Session, *, revision_id: int, language: str, script_key: str, board_key: str, translator: str,
    title: str = "",
) -> TranslationRecord:
    rec = TranslationRecord(revision_id=revision_id, language=language, script_key=script_key,
                            board_key=board_key, translator=translator, title=title)
    session.add(rec)
    session.flush()
    return rec


def latest_translation(session: Session, revision_id: int, language: str) -> TranslationRecord | None:
    return session.scalar(select(TranslationRecord)
                          .where(TranslationRecord.revision_id == revision_id, TranslationRecord.language == language)
                          .order_by(TranslationRecord.id.desc()).limit(1))


def add_recording(
    session: Session, *, revision_id: int, language: str, key: str, duration_s: float, uploaded_by: str
) -> RecordingRecord:
    rec = RecordingRecord(revision_id=revision_id, language=language, key=key, duration_s=duration_s,
                          uploaded_by=uploaded_by)
    session.add(rec)
    session.flush()
    return rec


def latest_recording(session: Session, revision_id: int, language: str) -> RecordingRecord | None:
    return session.scalar(select(RecordingRecord)
                          .where(RecordingRecord.revision_id == revision_id, RecordingRecord.language == language)
                          .order_by(RecordingRecord.id.desc()).limit(1))
