"""Records for the archive concept. Tables are registered on :class:`storage.models.Base`.

The full-text index itself is not a record: it is the backend-specific ``archive_fts`` table (an FTS5
virtual table on SQLite, a table of ``tsvector`` columns with GIN indexes on PostgreSQL), created by
migration 0004 and kept in step by ``storage.search``. It holds derived data only and is rebuilt by
``bantin archive reindex``.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime, utcnow  # noqa: F401


class ArchiveEntryRecord(Base):
    """One searchable thing that was broadcast: one language variant of a package, or one legacy recording.

    ``doc_key`` orders entries by broadcast time (seconds since 1970 times 2**20 plus a per-entry number)
    and is the row id of the full-text index, so the newest matches come first without sorting and a date
    range is a key range. ``sections`` keeps the texts apart for snippets; ``segments`` holds the timed
    transcript (``[start_s, end_s, text]``) of ``recording_key`` when there is one.
    """

    __tablename__ = "archive_entries"
    __table_args__ = (UniqueConstraint("package_id", "language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_key: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "package" | "recording"
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    sections: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"kind": "script", "text": "..."}, ...]
    segments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    area_codes: Mapped[list[str]] = mapped_column()
    priority: Mapped[str | None] = mapped_column(String(16))
    channels: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16))
    broadcast_at: Mapped[datetime] = mapped_column()
    recording_key: Mapped[str | None] = mapped_column(String(200))
    transcript_key: Mapped[str | None] = mapped_column(String(200))
    source_name: Mapped[str] = mapped_column(Text, default="")
    # Legacy recordings: the file's SHA-256, so a rerun of an ingest skips what is done.
    source_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    duration_s: Mapped[float | None] = mapped_column(Float)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    indexed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
