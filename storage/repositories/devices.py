"""Devices, their play logs and emergency acknowledgements."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from domain.devices import Ack, DeviceStatus, Inventory, PlayEntry, Registration, transition_device
from domain.errors import NotFound
from domain.signatures import b64
from storage.models import utcnow
from storage.models_devices import DeviceRecord, EmergencyAckRecord, PlayLogRecord
from storage.repositories import audit
from storage.repositories.cas import compare_and_set


def _insert(session: Session, model: Any) -> Any:
    """An INSERT that can skip rows hitting a unique constraint (SQLite and PostgreSQL)."""
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def find_by_hardware_id(session: Session, hardware_id: str) -> DeviceRecord | None:
    return session.scalar(select(DeviceRecord).where(DeviceRecord.hardware_id == hardware_id))


def get_device(session: Session, device_id: int) -> DeviceRecord:
    rec = session.get(DeviceRecord, device_id)
    if rec is None:
        raise NotFound(f"no device with id {device_id}")
    return rec


def add_device(session: Session, reg: Registration) -> DeviceRecord:
    """A newly registered device, pending an admin's authorisation."""
    rec = DeviceRecord(hardware_id=reg.hardware_id, public_key=b64(reg.public_key), name=reg.name,
                       area_code=reg.area_code, kind=reg.kind.value, status=DeviceStatus.PENDING.value,
                       last_inventory={})
    session.add(rec)
    session.flush()
    audit.record(session, actor=f"device:{rec.id}", action="device.registered", entity="device", entity_id=rec.id,
                 hardware_id=reg.hardware_id, area_code=reg.area_code, kind=reg.kind.value, name=reg.name)
    return rec


def rekey_device(session: Session, rec: DeviceRecord, reg: Registration) -> None:
    """A revoked device registered again with a new key: the key, name, area and kind are the new
    registration's, and it waits for an admin again (compare-and-set on ``revoked``, audited).

    Raises:
        InvalidTransition: the device is not revoked (any more).
    """
    transition_device(DeviceStatus(rec.status), DeviceStatus.PENDING)
    old_key = rec.public_key
    compare_and_set(session, rec, "device", DeviceStatus.REVOKED.value, DeviceStatus.PENDING.value,
                    {"status": DeviceStatus.PENDING.value, "public_key": b64(reg.public_key), "name": reg.name,
                     "area_code": reg.area_code, "kind": reg.kind.value, "authorised_by": None,
                     "authorised_at": None})
    session.refresh(rec)
    audit.record(session, actor=f"device:{rec.id}", action="device.rekeyed", entity="device", entity_id=rec.id,
                 hardware_id=reg.hardware_id, old_key=old_key, new_key=rec.public_key, area_code=reg.area_code)


def set_device_status(session: Session, rec: DeviceRecord, target: DeviceStatus, *, actor: str, **detail: Any) -> None:
    """Move a device along its state machine (compare-and-set) and audit it.

    Raises:
        InvalidTransition: not an edge of the table, or the status changed since it was read.
    """
    current = DeviceStatus(rec.status)
    transition_device(current, target)
    values: dict[str, Any] = {"status": target.value}
    if target is DeviceStatus.AUTHORISED:
        values.update(authorised_by=actor, authorised_at=utcnow())
    elif target is DeviceStatus.REVOKED:
        values.update(revoked_by=actor, revoked_at=utcnow())
    compare_and_set(session, rec, "device", current.value, target.value, values)
    audit.record(session, actor=actor, action=f"device.{target.value}", entity="device", entity_id=rec.id,
                 **{"from": current.value, **detail})


def list_devices(session: Session, *, status: DeviceStatus | None = None,
                 area_codes: Iterable[str] | None = None) -> list[DeviceRecord]:
    stmt = select(DeviceRecord).order_by(DeviceRecord.id)
    if status is not None:
        stmt = stmt.where(DeviceRecord.status == status.value)
    if area_codes is not None:
        stmt = stmt.where(DeviceRecord.area_code.in_(list(area_codes)))
    return list(session.scalars(stmt))


def touch_many(session: Session, seen: dict[int, datetime]) -> None:
    """Record when devices were last heard from, in one statement (not audited: it is not a decision, and
    polls are many)."""
    if seen:
        session.execute(update(DeviceRecord), [{"id": k, "last_seen_at": v} for k, v in seen.items()],
                        execution_options={"synchronize_session": False})


def save_inventory(session: Session, rec: DeviceRecord, inv: Inventory, at: datetime) -> bool:
    """Store the device's report; audit it when the set of files it holds changed.

    Returns:
        Whether the file set changed.
    """
    before = list(rec.last_inventory.get("files", [])) if rec.last_inventory else []
    rec.last_inventory = {"files": list(inv.files), "free_bytes": inv.free_bytes, "playing": inv.playing}
    rec.inventory_at, rec.last_seen_at = at, at
    rec.agent_version = inv.agent_version
    changed = before != list(inv.files)
    if changed:
        audit.record(session, actor=f"device:{rec.id}", action="device.inventory", entity="device",
                     entity_id=rec.id, files=len(inv.files), free_bytes=inv.free_bytes,
                     agent_version=inv.agent_version)
    session.flush()
    return changed


def add_play_logs(session: Session, device_id: int, entries: list[PlayEntry], at: datetime) -> int:
    """Insert play log entries, skipping any ``log_id`` this device already sent.

    Returns:
        How many were new.
    """
    if not entries:
        return 0
    rows = [{"device_id": device_id, "log_id": e.log_id, "item_id": e.item_id, "manifest_hash": e.manifest_hash,
             "started_at": e.started_at, "ended_at": e.ended_at, "completed": e.completed,
             "trigger": e.trigger.value, "received_at": at} for e in entries]
    stmt = (_insert(session, PlayLogRecord).values(rows)
            .on_conflict_do_nothing(index_elements=["device_id", "log_id"]).returning(PlayLogRecord.id))
    return len(session.execute(stmt).all())


def play_logs(session: Session, *, device_id: int | None = None, manifest_hash: str | None = None,
              limit: int = 100) -> list[PlayLogRecord]:
    stmt = select(PlayLogRecord).order_by(PlayLogRecord.started_at.desc(), PlayLogRecord.id.desc()).limit(limit)
    if device_id is not None:
        stmt = stmt.where(PlayLogRecord.device_id == device_id)
    if manifest_hash is not None:
        stmt = stmt.where(PlayLogRecord.manifest_hash == manifest_hash)
    return list(session.scalars(stmt))


def add_ack(session: Session, device_id: int, ack: Ack, at: datetime) -> bool:
    """Record the first acknowledgement of an emergency by a device.

    Returns:
        Whether it was new (a repeated ack changes nothing).
    """
    stmt = _insert(session, EmergencyAckRecord).values(
        device_id=device_id, manifest_hash=ack.manifest_hash, item_id=ack.item_id, channel=ack.channel,
        received_at=ack.received_at, acked_at=at).on_conflict_do_nothing(
        index_elements=["device_id", "manifest_hash"]).returning(EmergencyAckRecord.id)
    new = session.execute(stmt).first() is not None
    if new:
        audit.record(session, actor=f"device:{device_id}", action="device.ack", entity="device", entity_id=device_id,
                     manifest_hash=ack.manifest_hash, item_id=ack.item_id, channel=ack.channel)
    return new


def acks_for(session: Session, manifest_hash: str) -> dict[int, EmergencyAckRecord]:
    """Device id -> its acknowledgement of this manifest."""
    return {a.device_id: a for a in session.scalars(
        select(EmergencyAckRecord).where(EmergencyAckRecord.manifest_hash == manifest_hash))}
