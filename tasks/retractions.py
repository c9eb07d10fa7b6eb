"""Withdrawal and kill: a ``bantin.retraction/1`` notice in the outbox for every destination that was delivered
the package (sent by ``tasks.outbox`` like a delivery: per-destination state, retries with backoff and jitter,
dead letters), and the sweep that finds what is still owed (run by ``publish_due`` every minute)."""

from prefect import task

from domain.deliveries import DeliveryStatus, OutboxAction, OutboxKind
from domain.devices import EmergencyAction
from domain.packages import PackageStatus
from services import device_schedule
from services.runtime import session
from storage.repositories import outbox, packages
from tasks.retry import retry_if_transient


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
def prepare_retractions(package_id: int) -> list[int]:
    """A withdrawal/kill notice for every destination that was delivered this (withdrawn or killed) package.

    Returns:
        IDs of the notices still to send.
    """
    with session() as s:
        pkg = packages.get_package(s, package_id)
        if pkg.status not in (PackageStatus.WITHDRAWN, PackageStatus.KILLED):
            return []
        action = OutboxAction.KILL if pkg.status == PackageStatus.KILLED else OutboxAction.WITHDRAW
        todo = []
        for d, _t in outbox.of_package(s, package_id, OutboxKind.DELIVERY):
            if d.status != DeliveryStatus.DELIVERED:
                continue
            r = outbox.ensure(s, package_id=package_id, destination_id=d.destination_id, action=action,
                              manifest_hash=pkg.manifest_hash or "")
            if r.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
                todo.append(r.id)
    device_schedule.invalidate()
    return todo


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
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
