"""Records for live sessions (an officer on air from a browser, ``services.live``). Registered on
:class:`storage.models.Base`.

A session is ``live`` from ``started_at`` until it is stopped (by its officer, by its maximum length, by a
browser that went away) and then ``ended``; ``deadline`` is when the maximum length stops it. ``mount`` is the
Icecast mount its ffmpeg feeds; ``recording_key`` and ``archive_entry_id`` are filled once its copy is stored
and archived.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class LiveSessionRecord(Base):
    __tablename__ = "live_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(String(200))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)  # live, ended
    mount: Mapped[str] = mapped_column(String(64))
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    deadline: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str] = mapped_column(String(32), default="")
    recording_key: Mapped[str | None] = mapped_column(String(200), default=None)
    archive_entry_id: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
