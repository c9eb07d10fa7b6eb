"""Pushes on channels other than HTTP deliveries (MQTT emergency ``play``/``stop``), one row per package,
channel and action, moved by compare-and-set like deliveries."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from domain.deliveries import PushStatus, transition_push
from domain.errors import InvalidTransition
from storage.db import rowcount
from storage.models import utcnow
from storage.models_channels import ChannelRecord
from storage.repositories import audit

PENDING, SENDING, SENT, FAILED = (s.value for s in PushStatus)


def ensure_push(session: Session, *, package_id: int, channel: str, action: str) -> ChannelRecord:
    """The push of this package on this channel for this action, created once."""
    rec = session.scalar(select(ChannelRecord).where(ChannelRecord.package_id == package_id,
                                                     ChannelRecord.channel == channel, ChannelRecord.action == action))
    if rec is None:
        rec = ChannelRecord(package_id=package_id, channel=channel, action=action, status=PENDING, attempts=0,
                            last_error="")
        session.add(rec)
        session.flush()
    return rec


def set_push_status(session: Session, rec: ChannelRecord, target: str, *, error: str = "",
                    now: datetime | None = None) -> None:
    """Move a push along ``pending -> sending -> sent | failed`` (failed and sent may be pushed again).

    Raises:
        InvalidTransition: not an edge, or the row changed since it was read.
    """
    current = rec.status
    transition_push(PushStatus(current), PushStatus(target))
    values: dict[str, object] = {"status": target, "updated_at": now or utcnow(), "last_error": error[:2000]}
    if target == SENDING:
        values["attempts"] = rec.attempts + 1
    result = session.execute(update(ChannelRecord).where(ChannelRecord.id == rec.id, ChannelRecord.status == current,
                                                         ChannelRecord.updated_at == rec.updated_at)
                             .values(**values).execution_options(synchronize_session=False))
    if rowcount(result) != 1:
        session.refresh(rec)
        raise InvalidTransition("channel push", f"{current} (now {rec.status})", target)
    for key, value in values.items():
        set_committed_value(rec, key, value)
    if target in (SENT, FAILED):
        audit.record(session, actor="system", action=f"channel.{rec.channel}.{target}", entity="package",
                     entity_id=rec.package_id, push=rec.action, attempts=rec.attempts, error=error[:500])


def pushes_of(session: Session, package_id: int) -> list[ChannelRecord]:
    return list(session.scalars(select(ChannelRecord).where(ChannelRecord.package_id == package_id)
                                .order_by(ChannelRecord.id)))


def pushes_to_retry(session: Session, *, stale_before: datetime) -> list[ChannelRecord]:
    """Failed pushes, and pushes left sending since before ``stale_before`` (their runner died)."""
    return list(session.scalars(select(ChannelRecord).where(
        (ChannelRecord.status == FAILED)
        | ((ChannelRecord.status == SENDING) & (ChannelRecord.updated_at < stale_before))).order_by(ChannelRecord.id)))
