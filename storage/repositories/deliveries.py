"""Destinations and deliveries (one per package and destination)."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from domain.deliveries import DeliveryStatus, DestinationKind, idempotency_key, transition_delivery
from domain.errors import InvalidInput, NotFound
from storage.models import DeliveryRecord, DestinationRecord, utcnow
from storage.models_devices import RetractionRecord
from storage.repositories import audit
from storage.repositories.cas import compare_and_set


def add_destination(session: Session, *, name: str, kind: DestinationKind, url: str) -> DestinationRecord:
    """Add a destination, or update the URL of an existing one of the same name."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"destination URL must start with http:// or https://, got {url!r}")
    if len(url) > 2000 or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise InvalidInput("destination URL must be one line without spaces or control characters "
                           "(at most 2000 characters)")
    rec = session.scalar(select(DestinationRecord).where(DestinationRecord.name == name))
    if rec is None:
        rec = DestinationRecord(name=name, kind=kind.value, url=url)
        session.add(rec)
    else:
        rec.kind, rec.url, rec.enabled = kind.value, url, True
    session.flush()
    return rec


def list_destinations(session: Session, *, enabled_only: bool = False) -> list[DestinationRecord]:
    stmt = select(DestinationRecord).order_by(DestinationRecord.id)
    if enabled_only:
        stmt = stmt.where(DestinationRecord.enabled.is_(True))
    return list(session.scalars(stmt))


def disable_destination(session: Session, name: str) -> None:
    rec = session.scalar(select(DestinationRecord).where(DestinationRecord.name == name))
    if rec is None:
        raise NotFound(f"no destination named '{name}'")
    rec.enabled = False


def ensure_delivery(session: Session, *, package_id: int, manifest_hash: str, destination_id: int) -> DeliveryRecord:
    """The delivery of this package to this destination, created once (reruns reuse it)."""
    rec = session.scalar(select(DeliveryRecord).where(DeliveryRecord.package_id == package_id,
                                                      DeliveryRecord.destination_id == destination_id))
    if rec is None:
        rec = DeliveryRecord(package_id=package_id, destination_id=destination_id,
                             status=DeliveryStatus.PENDING.value,
                             idempotency_key=idempotency_key(manifest_hash, destination_id))
        session.add(rec)
        session.flush()
    return rec


def get_delivery(session: Session, delivery_id: int) -> DeliveryRecord:
    rec = session.get(DeliveryRecord, delivery_id)
    if rec is None:
        raise NotFound(f"no delivery with id {delivery_id}")
    return rec


def set_delivery_status(
    session: Session, rec: DeliveryRecord, target: DeliveryStatus, *, error: str = "", receipt_id: str = ""
) -> None:
    """Move a delivery along its state machine (compare-and-set on the status read earlier).

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
    compare_and_set(session, rec, "delivery", current.value, target.value, values)
    if target in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD, DeliveryStatus.PENDING):
        audit.record(session, actor="system", action=f"delivery.{target.value}", entity="delivery",
                     entity_id=rec.id, package_id=rec.package_id, destination_id=rec.destination_id,
                     attempts=rec.attempts, error=error, receipt_id=receipt_id)


def claim_delivery(session: Session, rec: DeliveryRecord, *, now: datetime, stale_before: datetime) -> bool:
    """Claim a delivery for one send by this runner: move it to SENDING only if nobody changed it since it was
    read (compare-and-set on status and ``updated_at``), and a SENDING one only once its runner is presumed
    dead (``updated_at`` before ``stale_before``).

    Two runners of the same publish (two ``bantin publish``, a rerun beside a slow run) can therefore never
    both send: the second finds the row changed and backs off.

    Returns:
        True when this runner now owns the send; False when another runner has it (or it is finished).
    """
    current = DeliveryStatus(rec.status)
    if current in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
        return False
    if current is DeliveryStatus.SENDING and rec.updated_at >= stale_before:
        return False  # in flight on another runner
    transition_delivery(current, DeliveryStatus.SENDING)
    values = {"status": DeliveryStatus.SENDING.value, "attempts": rec.attempts + 1, "updated_at": now}
    result = session.execute(
        update(DeliveryRecord)
        .where(DeliveryRecord.id == rec.id, DeliveryRecord.status == current.value,
               DeliveryRecord.updated_at == rec.updated_at)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(rec)
        return False
    for key, value in values.items():
        set_committed_value(rec, key, value)
    return True


def stale_sending(session: Session, *, stale_before: datetime) -> list[DeliveryRecord]:
    """Deliveries left SENDING since before ``stale_before``: their runner died mid-send."""
    return list(session.scalars(select(DeliveryRecord).where(
        DeliveryRecord.status == DeliveryStatus.SENDING.value, DeliveryRecord.updated_at < stale_before)
        .order_by(DeliveryRecord.id)))


def resend_dead(session: Session, package_id: int, *, actor: str) -> int:
    """Give dead deliveries of a package a fresh attempt budget (after a destination came back).

    Returns:
        How many deliveries were reopened.
    """
    reopened = 0
    for rec in session.scalars(select(DeliveryRecord).where(DeliveryRecord.package_id == package_id,
                                                            DeliveryRecord.status == DeliveryStatus.DEAD.value)):
        previous = rec.attempts
        set_delivery_status(session, rec, DeliveryStatus.PENDING)
        session.execute(update(DeliveryRecord).where(DeliveryRecord.id == rec.id).values(attempts=0))
        set_committed_value(rec, "attempts", 0)
        audit.record(session, actor=actor, action="delivery.resend", entity="delivery", entity_id=rec.id,
                     package_id=package_id, previous_attempts=previous)
        reopened += 1
    return reopened


def deliveries_of(session: Session, package_id: int) -> list[tuple[DeliveryRecord, DestinationRecord]]:
    stmt = (select(DeliveryRecord, DestinationRecord)
            .join(DestinationRecord, DeliveryRecord.destination_id == DestinationRecord.id)
            .where(DeliveryRecord.package_id == package_id).order_by(DeliveryRecord.id))
    return [(d, t) for d, t in session.execute(stmt).tuples()]


def resend_one(session: Session, delivery_id: int, *, actor: str) -> DeliveryRecord:
    """Reopen one dead delivery with a fresh attempt budget (its idempotency key stays the same).

    Raises:
        NotFound: no such delivery.
        InvalidInput: it is not dead.
    """
    rec = get_delivery(session, delivery_id)
    if rec.status != DeliveryStatus.DEAD:
        raise InvalidInput(f"delivery {delivery_id} is {rec.status}, not dead; only dead deliveries are resent")
    previous = rec.attempts
    set_delivery_status(session, rec, DeliveryStatus.PENDING)
    session.execute(update(DeliveryRecord).where(DeliveryRecord.id == rec.id).values(attempts=0))
    set_committed_value(rec, "attempts", 0)
    audit.record(session, actor=actor, action="delivery.resend", entity="delivery", entity_id=rec.id,
                 package_id=rec.package_id, previous_attempts=previous)
    return rec


def list_deliveries(session: Session, *, status: DeliveryStatus | None = None, package_id: int | None = None,
                    limit: int = 500) -> list[tuple[DeliveryRecord, DestinationRecord]]:
    """Deliveries with their destinations, newest first (the queue and dead-letter views)."""
    stmt = (select(DeliveryRecord, DestinationRecord)
            .join(DestinationRecord, DeliveryRecord.destination_id == DestinationRecord.id)
            .order_by(DeliveryRecord.id.desc()).limit(limit))
    if status is not None:
        stmt = stmt.where(DeliveryRecord.status == status.value)
    if package_id is not None:
        stmt = stmt.where(DeliveryRecord.package_id == package_id)
    return [(d, t) for d, t in session.execute(stmt).tuples()]


def ensure_retraction(session: Session, *, package_id: int, destination_id: int, action: str,
                      manifest_hash: str) -> RetractionRecord:
    """The withdrawal/kill notice of this package to this destination, created once (reruns reuse it)."""
    rec = session.scalar(select(RetractionRecord).where(RetractionRecord.package_id == package_id,
                                                        RetractionRecord.destination_id == destination_id))
    if rec is None:
        rec = RetractionRecord(package_id=package_id, destination_id=destination_id, action=action,
                               status=DeliveryStatus.PENDING.value,
                               idempotency_key=f"{idempotency_key(manifest_hash, destination_id)}-{action}")
        session.add(rec)
        session.flush()
    return rec


def get_retraction(session: Session, retraction_id: int) -> RetractionRecord:
    rec = session.get(RetractionRecord, retraction_id)
    if rec is None:
        raise NotFound(f"no retraction with id {retraction_id}")
    return rec


def set_retraction_status(session: Session, rec: RetractionRecord, target: DeliveryStatus, *, error: str = "",
                          receipt_id: str = "") -> None:
    """Move a retraction notice along the delivery state machine (compare-and-set), auditing the outcomes."""
    current = DeliveryStatus(rec.status)
    transition_delivery(current, target)
    values: dict[str, object] = {"status": target.value, "updated_at": utcnow()}
    if target is DeliveryStatus.SENDING:
        values["attempts"] = rec.attempts + 1
    if error:
        values["last_error"] = error[:2000]
    if receipt_id:
        values["receipt_id"] = receipt_id
    compare_and_set(session, rec, "retraction", current.value, target.value, values)
    if target in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
        audit.record(session, actor="system", action=f"retraction.{target.value}", entity="delivery",
                     entity_id=f"r{rec.id}", package_id=rec.package_id, destination_id=rec.destination_id,
                     attempts=rec.attempts, error=error, receipt_id=receipt_id, retraction=rec.action)


def retractions_of(session: Session, package_id: int) -> list[tuple[RetractionRecord, DestinationRecord]]:
    stmt = (select(RetractionRecord, DestinationRecord)
            .join(DestinationRecord, RetractionRecord.destination_id == DestinationRecord.id)
            .where(RetractionRecord.package_id == package_id).order_by(RetractionRecord.id))
    return [(r, t) for r, t in session.execute(stmt).tuples()]


def packages_owing_retractions(session: Session, statuses: list[str]) -> list[int]:
    """Packages in ``statuses`` (withdrawn, killed) with a delivered delivery but no retraction notice yet for
    that destination, or a notice not yet delivered or dead."""
    from storage.models import PackageRecord

    delivered = (select(DeliveryRecord.package_id, DeliveryRecord.destination_id)
                 .join(PackageRecord, PackageRecord.id == DeliveryRecord.package_id)
                 .where(PackageRecord.status.in_(statuses), DeliveryRecord.status == DeliveryStatus.DELIVERED.value))
    done = {(r.package_id, r.destination_id) for r in session.scalars(
        select(RetractionRecord).where(RetractionRecord.status.in_(
            [DeliveryStatus.DELIVERED.value, DeliveryStatus.DEAD.value])))}
    return sorted({p for p, d in session.execute(delivered).tuples() if (p, d) not in done})
