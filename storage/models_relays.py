"""Records for relays (``domain.relays``). Tables are registered on :class:`storage.models.Base`.

``relay_sources`` are the upstreams an installation may pull; ``relay_slots`` put a source on an area's air
at set times; ``relay_runs`` record each airing the relay flow carried: when it started and ended, and every
event on the way (upstream down, fallback to default content, upstream back, preempted by an emergency).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import AREA_CODE, Base, utcnow


class RelaySourceRecord(Base):
    __tablename__ = "relay_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    codec: Mapped[str] = mapped_column(String(16))  # what the upstream carried when it was checked
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RelaySlotRecord(Base):
    """``starts``/``ends`` HH:MM Vietnam time on ``weekdays`` (digits 0-6, Monday = 0)."""

    __tablename__ = "relay_slots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("relay_sources.id"), index=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    starts: Mapped[str] = mapped_column(String(5))
    ends: Mapped[str] = mapped_column(String(5))
    weekdays: Mapped[str] = mapped_column(String(7))
    priority: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RelayRunRecord(Base):
    """One airing carried by the relay flow. ``status``: running, done (the source aired to the end),
    fallback (it ended on default content), preempted (an emergency took the area), failed."""

    __tablename__ = "relay_runs"
    __table_args__ = (UniqueConstraint("slot_id", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("relay_slots.id"), index=True)
    local_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, Vietnam calendar
    area_code: Mapped[str] = mapped_column(AREA_CODE)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"at", "event", "detail"}]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
