"""Publishing tasks: approved package -> one delivery per destination in the outbox (sent by
``tasks.outbox`` until it is acknowledged or given up). A delivered delivery is never sent again, so rerunning
a publish (or resuming one that crashed) delivers nothing twice; a re-send after a crash carries the same
idempotency key so the receiver can recognise it.

Devices are a destination too: they pull what is published for their area (``services.device_schedule``),
so a package reaching authorised devices is published as soon as its publish starts (an emergency must
not wait for slow HTTP receivers), and emergencies are also pushed over MQTT (``tasks.mqtt``).
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.runtime import flow_run
from sqlalchemy.orm import Session

from domain.approvals import check_publishable
from domain.deliveries import DeliveryStatus, OutboxKind, PublicationFailed
from domain.errors import InvalidTransition
from domain.packages import PackageStatus
from services import device_schedule, publication
from services.runtime import object_store, session
from storage.models import PackageRecord
from storage.repositories import drafts, outbox, packages
from tasks.outbox import earlier_published
from tasks.retry import RETRY_TRANSIENT

OTHER_RUNNER_WAIT_S = 120.0  # a second runner waits this long for the first one's sends in flight


def _reaching_devices(s: Session, package_id: int) -> int:
    return publication.reaching_devices(s, package_id)


@task(**RETRY_TRANSIENT)
def prepare_deliveries(package_id: int) -> list[int]:
    """Check the package may be published and create its deliveries (once per destination).

    The stored manifest is re-read and hashed: what goes out is exactly what was approved.

    Returns:
        IDs of the deliveries still to send.

    Raises:
        ApprovalRefused: the package is not approved for its current manifest.
        ManifestMismatch: the stored manifest is not the approved one.
        InvalidInput: no destination is configured and no device reaches the package's areas.
    """
    logger = get_run_logger()
    with session() as s:
        todo = publication.prepare_deliveries(s, object_store(), package_id, flow_run_id=str(flow_run.id or ""))
    logger.info("package %s: %d deliveries to send", package_id, len(todo))
    return todo


@task(**RETRY_TRANSIENT)
def hold_until_embargo(package_id: int) -> str | None:
    """Keep an approved package whose embargo lies ahead from going out: it becomes SCHEDULED.

    Returns:
        The embargo time (ISO) while it is still ahead, else None (publish now).
    """
    with session() as s:
        pkg = packages.get_package(s, package_id)
        embargo = drafts.revision_by_id(s, pkg.revision_id).content.embargo_at
        if embargo is None or embargo <= datetime.now(UTC):
            return None
        if pkg.status == PackageStatus.APPROVED:
            packages.set_status(s, pkg, PackageStatus.SCHEDULED, actor="system", embargo_at=embargo.isoformat())
    get_run_logger().info("package %s held until %s", package_id, embargo.isoformat())
    return embargo.isoformat()


@task(**RETRY_TRANSIENT)
def due_packages() -> list[int]:
    """Scheduled packages whose embargo has passed."""
    now = datetime.now(UTC)
    with session() as s:
        return [pkg.id for pkg in packages.packages_in_status(s, PackageStatus.SCHEDULED)
                if (drafts.revision_by_id(s, pkg.revision_id).content.embargo_at or now) <= now]


@task(**RETRY_TRANSIENT)
def reopen_dead_deliveries(package_id: int) -> int:
    """Give this package's dead deliveries a fresh attempt budget (an operator's resend).

    Returns:
        How many were reopened.
    """
    with session() as s:
        count = outbox.reopen_dead(s, package_id, actor="operator", kind=OutboxKind.DELIVERY)
    get_run_logger().info("package %s: %d dead deliveries reopened", package_id, count)
    return count


def _mark_published(s: Session, pkg: PackageRecord, destinations: list[str]) -> None:
    if pkg.status in (PackageStatus.APPROVED, PackageStatus.SCHEDULED):
        packages.set_status(s, pkg, PackageStatus.PUBLISHED, actor="system", destinations=destinations)
        for older in earlier_published(s, pkg):  # this package is their correction
            packages.set_status(s, older, PackageStatus.CORRECTED, actor="system", corrected_by=pkg.id,
                                manifest_hash=pkg.manifest_hash)
    device_schedule.invalidate()


@task(**RETRY_TRANSIENT)
def open_device_channel(package_id: int) -> int:
    """Publish the package to devices at once when authorised devices reach its areas: they pull it at their
    next poll (and emergencies are pushed right after this).

    Returns:
        How many authorised devices it reaches.
    """
    with session() as s:
        pkg = packages.get_package(s, package_id)
        reached = _reaching_devices(s, package_id)
        if reached and pkg.status in (PackageStatus.APPROVED, PackageStatus.SCHEDULED):
            check_publishable(status=PackageStatus(pkg.status), manifest_hash=pkg.manifest_hash or "",
                              approved_hashes=packages.approved_hashes(s, package_id))
            _mark_published(s, pkg, [f"devices ({reached})"])
    get_run_logger().info("package %s reaches %d authorised device(s)", package_id, reached)
    return reached


@task
def complete_publication(package_id: int) -> str:
    """Mark the package published once at least one destination (or device) has it.

    Returns:
        The package status.

    Raises:
        PublicationFailed: no destination accepted the package and no device reaches it (it stays approved;
            resend later).
    """
    return complete(package_id)


def complete(package_id: int, *, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep, wait_s: float = OTHER_RUNNER_WAIT_S) -> str:
    """:func:`complete_publication`'s work. A second runner of the same publication (two publishes at once)
    finds the first one's sends in flight: it waits for them (up to ``wait_s``) rather than answer "approved",
    and a package the other runner marked published meanwhile is published, not a conflict."""
    deadline = clock() + wait_s
    while True:
        try:
            status = _complete_once(package_id, give_up=clock() >= deadline)
        except InvalidTransition:
            with session() as s:  # the other runner published it between our read and our write
                status = packages.get_package(s, package_id).status
            if status != PackageStatus.PUBLISHED:
                raise
        if status is not None:
            return status
        sleep(0.5)


def _complete_once(package_id: int, *, give_up: bool) -> str | None:
    """The package's status once published (or left to another runner when ``give_up``); None: wait."""
    with session() as s:
        pkg = packages.get_package(s, package_id)
        rows = outbox.of_package(s, package_id, OutboxKind.DELIVERY)
        delivered = [t.name for d, t in rows if d.status == DeliveryStatus.DELIVERED]
        reached = _reaching_devices(s, package_id)
        if reached:
            delivered.append(f"devices ({reached})")
        if not delivered and any(d.status == DeliveryStatus.SENDING for d, _ in rows):
            return pkg.status if give_up else None  # another runner is sending it
        if not delivered:
            errors = "; ".join(f"{t.name}: {d.last_error or d.status}" for d, t in rows)
            raise PublicationFailed(f"no destination accepted package {package_id} ({errors}); "
                                    f"when they are back: bantin publish {package_id} --resend-dead")
        _mark_published(s, pkg, delivered)
        return pkg.status


@task
def mark_publication_failed(package_id: int, reason: str) -> None:
    """Say on the package why this publication run stopped (the page shows it with a retry button)."""
    from services.progress import record_publication_failure

    with session() as s:
        record_publication_failure(s, package_id, reason)

