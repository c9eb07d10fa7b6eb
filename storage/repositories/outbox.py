"""The outbox: one row per package, destination and kind (the package's delivery, or a withdrawal/kill notice),
moved along one state machine with one attempt count and one audit path."""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from domain.deliveries import (
    DeliveryStatus,
    OutboxAction,
    OutboxKind,
    idempotency_key,
    kind_of,
    transition_delivery,
)
from domain.errors import InvalidInput, NotFound
from storage.db import rowcount
from storage.models import DestinationRecord, OutboxRecord, PackageRecord, utcnow
from storage.repositories import audit
from storage.repositories.cas import compare_and_set

_FINISHED = (DeliveryStatus.DELIVERED.value, DeliveryStatus.DEAD.value)


def ensure(session: Session, *, package_id: int, destination_id: int, manifest_hash: str,
           action: OutboxAction = OutboxAction.PUBLISH) -> OutboxRecord:
    """The row for this package, destination and kind, created once (reruns reuse it).

    A delivery's idempotency key is the same across retries and reruns; a retraction's adds its action.
    """
    kind = kind_of(action)
    rec = session.scalar(select(OutboxRecord).where(OutboxRecord.package_id == package_id,
                                                    OutboxRecord.destination_id == destination_id,
                                                    OutboxRecord.kind == kind.value))
    if rec is None:
        rec = OutboxRecord(kind=kind.value, action=action.value, package_id=package_id,
                           destination_id=destination_id, status=DeliveryStatus.PENDING.value,
                           idempotency_key=idempotency_key(manifest_hash, destination_id, action))
        session.add(rec)
        session.flush()
    return rec


def get(session: Session, outbox_id: int) -> OutboxRecord:
    rec = session.get(OutboxRecord, outbox_id)
    if rec is None:
        raise NotFound(f"no delivery with id {outbox_id}")
    return rec


def _audit(session: Session, rec: OutboxRecord, outcome: str, *, actor: str = "system", **detail: object) -> None:
    audit.record(session, actor=actor, action=f"{rec.kind}.{outcome}", entity=rec.kind, entity_id=rec.id,
                 package_id=rec.package_id, destination_id=rec.destination_id, outbox_action=rec.action,
                 attempts=rec.attempts, **detail)


def set_status(session: Session, rec: OutboxRecord, target: DeliveryStatus, *, error: str = "",
               receipt_id: str = "") -> None:
    """Move a row along the delivery state machine (compare-and-set on the status read earlier); the outcomes
    (delivered, dead, reopened) are audited as ``<kind>.<status>``.

    Raises:
        InvalidTransition: not an edge of the table, or the status changed since it was read.
    """
    current = DeliveryStatus(rec.status)
    transition_delivery(current, target)
    values: dict[str, object] = {"status": target.value, "updated_at": utcnow()}
    if target is DeliveryStatus.SENDING:
        values["attempts"] = rec.attempts + 1
    if error:
        values["last_error"] = error[:2000]
    if receipt_id:
        values["receipt_id"] = receipt_id
    compare_and_set(session, rec, rec.kind, current.value, target.value, values)
    if target in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD, DeliveryStatus.PENDING):
        _audit(session, rec, target.value, error=error, receipt_id=receipt_id)


def claim(session: Session, rec: OutboxRecord, *, now: datetime, stale_before: datetime) -> bool:
    """Claim a row for one send by this runner: move it to SENDING only if nobody changed it since it was
    read (compare-and-set on status and ``updated_at``), and a SENDING one only once its runner is presumed
    dead (``updated_at`` before ``stale_before``).

    Two runners of the same publish or retraction can therefore never both send: the second finds the row
    changed and backs off.

    Returns:
        True when this runner now owns the send; False when another runner has it (or it is finished).
    """
    current = DeliveryStatus(rec.status)
    if current.value in _FINISHED:
        return False
    if current is DeliveryStatus.SENDING and rec.updated_at >= stale_before:
        return False  # in flight on another runner
    transition_delivery(current, DeliveryStatus.SENDING)
    values = {"status": DeliveryStatus.SENDING.value, "attempts": rec.attempts + 1, "updated_at": now}
    result = session.execute(
        update(OutboxRecord)
        .where(OutboxRecord.id == rec.id, OutboxRecord.status == current.value,
               OutboxRecord.updated_at == rec.updated_at)
        .values(**values).execution_options(synchronize_session=False))
    if rowcount(result) != 1:
        session.refresh(rec)
        return False
    for key, value in values.items():
        set_committed_value(rec, key, value)
    return True


def stale_sending(session: Session, *, stale_before: datetime) -> list[OutboxRecord]:
    """Rows left SENDING since before ``stale_before``: their runner died mid-send."""
    return list(session.scalars(select(OutboxRecord).where(
        OutboxRecord.status == DeliveryStatus.SENDING.value, OutboxRecord.updated_at < stale_before)
        .order_by(OutboxRecord.id)))


def reopen(session: Session, rec: OutboxRecord, *, actor: str) -> None:
    """Give a dead row a fresh attempt budget (its idempotency key stays the same), audited as a resend.

    Raises:
        InvalidInput: it is not dead.
    """
    if rec.status != DeliveryStatus.DEAD:
        raise InvalidInput(f"delivery {rec.id} is {rec.status}, not dead; only dead deliveries are resent")
    previous = rec.attempts
    set_status(session, rec, DeliveryStatus.PENDING)
    session.execute(update(OutboxRecord).where(OutboxRecord.id == rec.id).values(attempts=0))
    set_committed_value(rec, "attempts", 0)
    _audit(session, rec, "resend", actor=actor, previous_attempts=previous)


def reopen_dead(session: Session, package_id: int, *, actor: str, kind: OutboxKind | None = None) -> int:
    """Reopen every dead row of a package (of one kind, or all).

    Returns:
        How many were reopened.
    """
    rows = [r for r, _ in of_package(session, package_id, kind) if r.status == DeliveryStatus.DEAD]
    for rec in rows:
        reopen(session, rec, actor=actor)
    return len(rows)


def of_package(session: Session, package_id: int,
               kind: OutboxKind | None = None) -> list[tuple[OutboxRecord, DestinationRecord]]:
    """A package's rows (of one kind, or all) with their destinations, oldest first."""
    stmt = (select(OutboxRecord, DestinationRecord)
            .join(DestinationRecord, OutboxRecord.destination_id == DestinationRecord.id)
            .where(OutboxRecord.package_id == package_id).order_by(OutboxRecord.id))
    if kind is not None:
        stmt = stmt.where(OutboxRecord.kind == kind.value)
    return [(d, t) for d, t in session.execute(stmt).tuples()]


def listing(session: Session, *, status: DeliveryStatus | None = None, package_id: int | None = None,
            kind: OutboxKind | None = None, limit: int = 500,
            before_id: int | None = None) -> list[tuple[OutboxRecord, DestinationRecord]]:
    """Rows with their destinations, newest first (the queue and dead-letter views); ``before_id`` pages on."""
    stmt = (select(OutboxRecord, DestinationRecord)
            .join(DestinationRecord, OutboxRecord.destination_id == DestinationRecord.id)
            .order_by(OutboxRecord.id.desc()).limit(limit))
    if before_id is not None:
        stmt = stmt.where(OutboxRecord.id < before_id)
    if status is not None:
        stmt = stmt.where(OutboxRecord.status == status.value)
    if package_id is not None:
        stmt = stmt.where(OutboxRecord.package_id == package_id)
    if kind is not None:
        stmt = stmt.where(OutboxRecord.kind == kind.value)
    return [(d, t) for d, t in session.execute(stmt).tuples()]


def count(session: Session, *, status: DeliveryStatus) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboxRecord)
                              .where(OutboxRecord.status == status.value)) or 0)


def packages_owing_retractions(session: Session, statuses: list[str]) -> list[int]:
    """Packages in ``statuses`` (withdrawn, killed) with a delivered delivery but no finished retraction notice
    (delivered or dead) for that destination yet."""
    delivered = (select(OutboxRecord.package_id, OutboxRecord.destination_id)
                 .join(PackageRecord, PackageRecord.id == OutboxRecord.package_id)
                 .where(PackageRecord.status.in_(statuses), OutboxRecord.kind == OutboxKind.DELIVERY.value,
                        OutboxRecord.status == DeliveryStatus.DELIVERED.value))
    done = set(session.execute(select(OutboxRecord.package_id, OutboxRecord.destination_id).where(
        OutboxRecord.kind == OutboxKind.RETRACTION.value, OutboxRecord.status.in_(_FINISHED))).tuples())
    return sorted({p for p, d in session.execute(delivered).tuples() if (p, d) not in done})
