"""Records for the programs concept. Tables are registered on :class:`storage.models.Base`.

``programs`` are recurring slots per area; ``program_orders`` hold the commune officer's order for one
date; ``program_editions`` are what was assembled for one slot, commune and language (a new build of the
same slot updates its row, so the row always names the audio the devices should hold); ``area_profiles``
hold quiet hours and volume per area.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime, utcnow  # noqa: F401


class ProgramRecord(Base):
    """A recurring bulletin slot: ``at`` (HH:MM, Vietnam time) on ``weekdays`` (digits 0-6, Monday = 0)."""

    __tablename__ = "programs"
    __table_args__ = (UniqueConstraint("area_code", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    at: Mapped[str] = mapped_column(String(5))
    weekdays: Mapped[str] = mapped_column(String(7))
    max_s: Mapped[float] = mapped_column(Float)
    gap_s: Mapped[float] = mapped_column(Float)
    priority: Mapped[str] = mapped_column(String(16))
    languages: Mapped[list[str]] = mapped_column(default=list)  # empty: the area's languages
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProgramOrderRecord(Base):
    """The commune officer's order of one program's items on one date (package ids), and items left out."""

    __tablename__ = "program_orders"
    __table_args__ = (UniqueConstraint("program_id", "slot_date", "area_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    slot_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, Vietnam calendar
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    package_order: Mapped[list[Any]] = mapped_column(JSON, default=list)
    skipped: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProgramEditionRecord(Base):
    """One program on one date for one commune and language.

    ``status``: ``published`` (audio stored, devices get it), ``empty`` (nothing to play), ``skipped``
    (another program won the slot, or quiet hours), ``failed`` (the build stopped; ``error`` says why).
    ``inputs_hash`` covers everything the audio depends on, so a rebuild with the same inputs is a no-op.
    """

    __tablename__ = "program_editions"
    __table_args__ = (UniqueConstraint("program_id", "slot_date", "area_code", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    slot_date: Mapped[str] = mapped_column(String(10))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))
    inputs_hash: Mapped[str] = mapped_column(String(64), default="")
    manifest_hash: Mapped[str | None] = mapped_column(String(64))
    manifest_key: Mapped[str | None] = mapped_column(String(200))
    audio_key: Mapped[str | None] = mapped_column(String(200))
    audio_sha256: Mapped[str | None] = mapped_column(String(64))
    audio_size: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    left_out: Mapped[list[Any]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    built_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AreaProfileRecord(Base):
    """Quiet hours, volume profile and default content that devices in an area (and the areas below it) honour."""

    __tablename__ = "area_profiles"

    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), primary_key=True)
    quiet_hours: Mapped[list[Any]] = mapped_column(JSON, default=list)
    volume_profile: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Package ids devices play when nothing is due (schedule "default_content"); empty: inherit from above.
    default_packages: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
