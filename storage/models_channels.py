"""Records for publication channels other than HTTP deliveries (which have ``deliveries``): today the MQTT
push of an emergency. Tables are registered on :class:`storage.models.Base`.

A channel's state is what the package page shows next to each delivery, so "published" never hides a push
that failed; the sweeper retries failed pushes by itself (``flows.sweep``).
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class ChannelRecord(Base):
    """One push of one package on one channel (``mqtt``) for one action (``play`` or ``stop``)."""

    __tablename__ = "channel_pushes"
    __table_args__ = (
        UniqueConstraint("package_id", "channel", "action"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
