"""Records for citizens' feedback. Tables are registered on :class:`storage.models.Base`.

``feedback`` holds one item each (state per ``domain.feedback``; ``version`` for compare-and-set
writes); contact fields are NULL once erased (``contact_erased_at``). ``feedback_notes`` are handlers'
internal notes, never shown to the citizen.
"""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class FeedbackRecord(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_unit_state", "unit_code", "state"),
        Index("ix_feedback_area_received", "area_code", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))  # where the citizen is
    unit_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))  # who handles it now
    hamlet: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    assignee: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, Vietnam calendar
    answered_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str | None] = mapped_column(String(64))
    reject_reason: Mapped[str] = mapped_column(String(32), default="")
    reject_note: Mapped[str] = mapped_column(Text, default="")
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("feedback.id"))
    cited_package_id: Mapped[int | None] = mapped_column(Integer)  # the bulletin the citizen answers
    bulletin_draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"))  # the answer on air
    entered_by: Mapped[str | None] = mapped_column(String(64))  # an officer who typed in a phone call
    # Personal data (Decree 13/2023): visible to the area's handlers only, erased after the retention period.
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_erased_at: Mapped[datetime | None] = mapped_column()
    photo_key: Mapped[str | None] = mapped_column(String(200))
    photo_type: Mapped[str | None] = mapped_column(String(32))
    photo_location_kept: Mapped[bool] = mapped_column(Boolean, default=False)
    voice_key: Mapped[str | None] = mapped_column(String(200))
    voice_type: Mapped[str | None] = mapped_column(String(32))
    voice_transcript: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FeedbackNoteRecord(Base):
    __tablename__ = "feedback_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
