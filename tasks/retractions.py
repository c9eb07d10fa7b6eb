"""Withdrawal and kill: a ``bantin.retraction/1`` notice in the outbox for every destination that was delivered
the package (sent by ``tasks.outbox`` like a delivery: per-destination state, retries with backoff and jitter,
dead letters), and the sweep that finds what is still owed (run by ``publish_due`` every minute)."""

from prefect import get_run_logger, task

from domain.devices import EmergencyAction
from domain.packages import PackageStatus
from services import device_schedule
from services import outbox as outbox_service
from services.runtime import session
from storage.repositories import outbox, packages
from tasks.retry import RETRY_TRANSIENT


@task(**RETRY_TRANSIENT)
def retraction_due(package_id: int) -> bool:
    """True when the package is withdrawn or killed and the retract flow should go on (``services.outbox``)."""
    with session() as s:
        due = outbox_service.retraction_owed(s, package_id)
    if not due:
        get_run_logger().info("package %s is neither withdrawn nor killed: nothing to retract", package_id)
    return due


@task(**RETRY_TRANSIENT)
def prepare_retractions(package_id: int) -> list[int]:
    """A withdrawal/kill notice for every destination that was delivered this (withdrawn or killed) package.

    Returns:
        IDs of the notices still to send.
    """
    with session() as s:
        todo = outbox_service.prepare_retractions(s, package_id)
    device_schedule.invalidate()
    return todo


@task(**RETRY_TRANSIENT)
def packages_to_retract() -> list[int]:
    """Withdrawn or killed packages that still owe a destination a notice, or devices an MQTT stop."""
    from services.emergency import was_broadcast

    with session() as s:
        owing = set(outbox.packages_owing_retractions(
            s, [PackageStatus.WITHDRAWN.value, PackageStatus.KILLED.value]))
        for status in (PackageStatus.WITHDRAWN, PackageStatus.KILLED):
            for pkg in packages.packages_in_status(s, status):
                played = was_broadcast(s, pkg.id, EmergencyAction.PLAY)
                if played and not was_broadcast(s, pkg.id, EmergencyAction.STOP):
                    owing.add(pkg.id)
    return sorted(owing)
