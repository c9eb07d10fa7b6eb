"""Records for operations reporting: daily rollups of play logs, device health and state changes, and the
periodic reports made from them. Tables are registered on :class:`storage.models.Base`.

Rollups are derived data: the reports flow rebuilds them from ``play_logs`` past a watermark
(``rollup_state``), so dashboards and quarterly reports read thousands of rows instead of millions.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import AREA_CODE, AuditRecord, Base, UTCDateTime, utcnow  # noqa: F401


class PlayDailyRecord(Base):
    """One device's plays on one day (Vietnam calendar): counts and seconds aired."""

    __tablename__ = "play_daily"
    __table_args__ = (Index("ix_play_daily_area_day", "area_code", "day"),)

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    area_code: Mapped[str] = mapped_column(AREA_CODE)
    plays: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    interrupted: Mapped[int] = mapped_column(Integer, default=0)
    emergency_plays: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class PlayFirstRecord(Base):
    """One device's plays of one manifest: first and last play, counts (what coverage is computed from)."""

    __tablename__ = "play_firsts"
    __table_args__ = (Index("ix_play_firsts_first_at", "first_at"),)

    manifest_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    area_code: Mapped[str] = mapped_column(AREA_CODE)
    first_at: Mapped[datetime] = mapped_column()
    last_at: Mapped[datetime] = mapped_column()
    plays: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    interrupted: Mapped[int] = mapped_column(Integer, default=0)


class PlayLanguageRecord(Base):
    """One device's plays of one manifest in one language (the variant's language, from the play's item id)."""

    __tablename__ = "play_languages"

    manifest_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    area_code: Mapped[str] = mapped_column(AREA_CODE)
    first_at: Mapped[datetime] = mapped_column()
    plays: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class RollupStateRecord(Base):
    """How far a rollup has read its source (the last ``play_logs.id`` folded in)."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceHealthRecord(Base):
    """The latest health a device reported with its inventory (fields it does not know stay NULL), its free
    storage, and how many absurd values it sent that were refused."""

    __tablename__ = "device_health"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    uptime_s: Mapped[int | None] = mapped_column(Integer)
    reboots_total: Mapped[int] = mapped_column(Integer, default=0)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    network: Mapped[str | None] = mapped_column(String(16))
    free_bytes: Mapped[int | None] = mapped_column(BigInteger)
    reported_at: Mapped[datetime | None] = mapped_column()
    rejected_values: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceStateChangeRecord(Base):
    """A device went online or offline (derived from its polls against the thresholds; appended only)."""

    __tablename__ = "device_state_changes"
    __table_args__ = (Index("ix_device_state_changes_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    at: Mapped[datetime] = mapped_column()
    online: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(String(32), default="")


class ReportRecord(Base):
    """A generated periodic report file in the object store, with its headline figures."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_period_area", "period", "area_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    format: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    cut_off: Mapped[str] = mapped_column(String(10))
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Reports and the dashboard find publications by action and time in the audit log.
Index("ix_audit_log_action_at", AuditRecord.action, AuditRecord.at)
