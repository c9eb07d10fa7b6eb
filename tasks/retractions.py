"""Withdrawal and kill: a signed ``bantin.retraction/1`` notice to every destination that was delivered the
package (same queue rules as deliveries: per-destination state, retries with backoff and jitter, dead
letters), and the sweep that finds what is still owed (run by ``publish_due`` every minute)."""

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from prefect import task
from sqlalchemy.orm import Session

from domain.deliveries import DeliveryStatus, backoff_delay
from domain.packages import PackageStatus
from domain.payloads import retraction_payload
from services import device_schedule, signing
from services.runtime import session
from settings import get_settings
from storage.repositories import audit, deliveries, packages
from tasks.publishing import db_turn, post_signed
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
        action = "kill" if pkg.status == PackageStatus.KILLED else "withdraw"
        todo = []
        for d, _t in deliveries.deliveries_of(s, package_id):
            if d.status != DeliveryStatus.DELIVERED:
                continue
            r = deliveries.ensure_retraction(s, package_id=package_id, destination_id=d.destination_id, action=action,
                                             manifest_hash=pkg.manifest_hash or "")
            if r.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
                todo.append(r.id)
    device_schedule.invalidate()
    return todo


def _retraction_reason(s: Session, package_id: int) -> tuple[str, str]:
    for e in reversed(audit.entries(s, entity="package", entity_id=package_id)):
        if e.action in ("package.withdrawn", "package.killed"):
            return str(e.detail.get("reason", "")), e.at.isoformat()
    return "", datetime.now(UTC).isoformat()


def attempt_retraction(retraction_id: int) -> DeliveryStatus:
    """One attempt to send a withdrawal/kill notice (same rules as :func:`attempt_delivery`)."""
    settings = get_settings()
    with db_turn(), session() as s:
        r = deliveries.get_retraction(s, retraction_id)
        if r.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
            return DeliveryStatus(r.status)
        deliveries.set_retraction_status(s, r, DeliveryStatus.SENDING)
        pkg = packages.get_package(s, r.package_id)
        reason, at = _retraction_reason(s, r.package_id)
        payload = signing.sign(retraction_payload(manifest_hash=pkg.manifest_hash or "", action=r.action,
                                                  reason=reason, retracted_at=at, idempotency_key=r.idempotency_key))
        url = next(t.url for t in deliveries.list_destinations(s) if t.id == r.destination_id)
        key, attempts = r.idempotency_key, r.attempts
    receipt, error, transient = post_signed(url, payload, key)
    with db_turn(), session() as s:
        r = deliveries.get_retraction(s, retraction_id)
        if receipt:
            deliveries.set_retraction_status(s, r, DeliveryStatus.DELIVERED, receipt_id=receipt)
            return DeliveryStatus.DELIVERED
        retry = transient and attempts < settings.delivery_max_attempts
        target = DeliveryStatus.FAILED if retry else DeliveryStatus.DEAD
        deliveries.set_retraction_status(s, r, target, error=error)
        return target


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
def send_retractions(retraction_ids: list[int]) -> dict[str, int]:
    """Send withdrawal/kill notices, each until delivered or dead (backoff with jitter between attempts)."""
    settings = get_settings()
    rng = random.Random()

    def until_done(rid: int) -> DeliveryStatus:
        attempt = 0
        while True:
            status = attempt_retraction(rid)
            attempt += 1
            if status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
                return status
            time.sleep(backoff_delay(attempt, settings.delivery_backoff_seconds, rand=rng.random()))

    with ThreadPoolExecutor(max_workers=max(1, min(settings.delivery_concurrency, len(retraction_ids) or 1))) as pool:
        results = list(pool.map(until_done, retraction_ids))
    counts: dict[str, int] = {}
    for status in results:
        counts[status.value] = counts.get(status.value, 0) + 1
    return counts


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
def packages_to_retract() -> list[int]:
    """Withdrawn or killed packages that still owe a destination a notice, or devices an MQTT stop."""
    from services.emergency import was_broadcast

    with session() as s:
        owing = set(deliveries.packages_owing_retractions(
            s, [PackageStatus.WITHDRAWN.value, PackageStatus.KILLED.value]))
        for status in (PackageStatus.WITHDRAWN, PackageStatus.KILLED):
            for pkg in packages.packages_in_status(s, status):
                if was_broadcast(s, pkg.id, "play") and not was_broadcast(s, pkg.id, "stop"):
                    owing.add(pkg.id)
    return sorted(owing)
