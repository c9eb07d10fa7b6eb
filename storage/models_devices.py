"""Records for the devices concept. Tables are registered on :class:`storage.models.Base`.

The installation's signing keys are files under ``<home>/keys`` (see ``services.signing``), not rows: every
web node and worker reads the same directory, and a database dump never carries a private key.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime, utcnow  # noqa: F401


class DeviceRecord(Base):
    """A loudspeaker cluster's player box or an e-board, known by its hardware id and its own Ed25519 key.

    ``status`` is ``pending`` until an admin of its area authorises it; ``revoked`` devices get 403.
    """

    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint("kind IN ('speaker', 'board')", name="kind"),
        CheckConstraint("status IN ('pending', 'authorised', 'revoked')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hardware_id: Mapped[str] = mapped_column(String(128), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))  # raw Ed25519 public key, base64
    name: Mapped[str] = mapped_column(String(200))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    authorised_by: Mapped[str | None] = mapped_column(String(64))
    authorised_at: Mapped[datetime | None] = mapped_column()
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column()
    last_inventory: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inventory_at: Mapped[datetime | None] = mapped_column()
    agent_version: Mapped[str] = mapped_column(String(64), default="")


class PlayLogRecord(Base):
    """A device's proof that it played (or started) an item; ``log_id`` makes a re-sent entry count once."""

    __tablename__ = "play_logs"
    __table_args__ = (UniqueConstraint("device_id", "log_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    log_id: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(128))
    manifest_hash: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmergencyAckRecord(Base):
    """A device confirmed that an emergency reached it (first confirmation per device and manifest)."""

    __tablename__ = "emergency_acks"
    __table_args__ = (UniqueConstraint("device_id", "manifest_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    manifest_hash: Mapped[str] = mapped_column(String(64), index=True)
    item_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column()  # the device's clock
    acked_at: Mapped[datetime] = mapped_column(default=utcnow)  # ours
