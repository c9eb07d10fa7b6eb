"""Publishing tasks: approved package -> one delivery per destination, each sent until it is
acknowledged or given up. A delivered delivery is never sent again, so rerunning a publish (or
resuming one that crashed) delivers nothing twice; a re-send after a crash carries the same
idempotency key so the receiver can recognise it."""

from datetime import UTC, datetime
from typing import Any

import httpx
from prefect import get_run_logger, task
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff
from sqlalchemy.orm import Session

from domain.approvals import check_publishable
from domain.deliveries import DeliveryStatus, PublicationFailed, is_transient_http_status
from domain.errors import InvalidInput
from domain.packages import PackageStatus, verify_manifest
from domain.payloads import package_payload
from services.runtime import object_store, session
from settings import get_settings
from storage.models import PackageRecord
from storage.repositories import audit, deliveries, drafts, packages
from tasks.retry import TransientError, is_transient, retry_if_transient


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
def prepare_deliveries(package_id: int) -> list[int]:
    """Check the package may be published and create its deliveries (once per destination).

    The stored manifest is re-read and hashed: what goes out is exactly what was approved.

    Returns:
        IDs of the deliveries still to send.

    Raises:
        ApprovalRefused: the package is not approved for its current manifest.
        ManifestMismatch: the stored manifest is not the approved one.
        InvalidInput: no destination is configured.
    """
    logger = get_run_logger()
    with session() as s:
        pkg = packages.get_package(s, package_id)
        check_publishable(status=PackageStatus(pkg.status), manifest_hash=pkg.manifest_hash or "",
                          approved_hashes=packages.approved_hashes(s, package_id))
        manifest_hash, manifest_key = pkg.manifest_hash or "", pkg.manifest_key or ""
        targets = deliveries.list_destinations(s, enabled_only=True)
        if not targets:
            raise InvalidInput("no destination is configured; add one with 'bantin destinations add NAME URL'")
        store = object_store()
        manifest = verify_manifest(store.get_bytes(manifest_key), manifest_hash)
        missing = [a["key"] for v in manifest["variants"] for a in v["assets"] if not store.exists(a["key"])]
        if missing:
            raise InvalidInput(f"package {package_id} lacks {len(missing)} stored asset(s), e.g. {missing[0]}")
        audit.record(s, actor="system", action="flow.publish", entity="package", entity_id=package_id,
                     flow_run_id=str(flow_run.id or ""))
        todo = []
        for dest in targets:
            d = deliveries.ensure_delivery(s, package_id=package_id, manifest_hash=manifest_hash,
                                           destination_id=dest.id)
            if d.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
                todo.append(d.id)
    logger.info("package %s: %d deliveries to send", package_id, len(todo))
    return todo


def _payload(package_id: int, idempotency_key: str) -> dict[str, Any]:
    store = object_store()
    with session() as s:
        pkg = packages.get_package(s, package_id)
        manifest = verify_manifest(store.get_bytes(pkg.manifest_key or ""), pkg.manifest_hash or "")
        corrects = [p.manifest_hash or "" for p in _earlier_published(s, pkg)]
    urls = {a["key"]: store.url(a["key"]) for v in manifest["variants"] for a in v["assets"]}
    return package_payload(manifest_hash=pkg.manifest_hash or "", manifest=manifest, asset_urls=urls,
                           idempotency_key=idempotency_key, corrects=corrects)


@task(task_run_name="deliver-{delivery_id}", retries=4, retry_delay_seconds=exponential_backoff(2),
      retry_jitter_factor=0.5, retry_condition_fn=retry_if_transient)
def deliver(delivery_id: int) -> str:
    """Push the package to one destination.

    The SENDING state is committed before the request, so a crash leaves evidence and the resumed
    publish re-sends with the same idempotency key. 2xx is delivered; 5xx, 408, 429 and network errors
    are retried with exponential backoff and jitter; other answers, or too many attempts, are dead.

    Returns:
        The delivery's final status.
    """
    logger = get_run_logger()
    settings = get_settings()
    with session() as s:
        d = deliveries.get_delivery(s, delivery_id)
        if d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
            return d.status
        deliveries.set_delivery_status(s, d, DeliveryStatus.SENDING)
        package_id, key, attempts = d.package_id, d.idempotency_key, d.attempts
        dest = next(t for t in deliveries.list_destinations(s) if t.id == d.destination_id)
        url, name = dest.url, dest.name
    error, transient, receipt = "", False, ""
    try:
        payload = _payload(package_id, key)
        resp = httpx.post(url, json=payload, headers={"Idempotency-Key": key}, timeout=settings.http_timeout)
        if 200 <= resp.status_code < 300:
            receipt = _receipt(resp)
        else:
            error = f"HTTP {resp.status_code}: {resp.text[:200]}"
            transient = is_transient_http_status(resp.status_code)
    except Exception as exc:  # record every failure on the delivery; only transient ones are retried
        error, transient = f"{type(exc).__name__}: {exc}", is_transient(exc)
    with session() as s:
        d = deliveries.get_delivery(s, delivery_id)
        if receipt:
            deliveries.set_delivery_status(s, d, DeliveryStatus.DELIVERED, receipt_id=receipt)
            logger.info("delivered package %s to %s (receipt %s)", package_id, name, receipt)
            return DeliveryStatus.DELIVERED.value
        if transient and attempts < settings.delivery_max_attempts:
            deliveries.set_delivery_status(s, d, DeliveryStatus.FAILED, error=error)
        else:
            deliveries.set_delivery_status(s, d, DeliveryStatus.DEAD, error=error)
            logger.error("delivery to %s is dead after %d attempt(s): %s", name, attempts, error)
            return DeliveryStatus.DEAD.value
    logger.warning("delivery to %s failed (attempt %d): %s", name, attempts, error)
    raise TransientError(f"delivery to {name} failed: {error}")


def _receipt(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    receipt = body.get("receipt_id") if isinstance(body, dict) else None
    return str(receipt or resp.headers.get("X-Receipt-Id") or f"http-{resp.status_code}")


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
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


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
def due_packages() -> list[int]:
    """Scheduled packages whose embargo has passed."""
    now = datetime.now(UTC)
    with session() as s:
        return [pkg.id for pkg in packages.packages_in_status(s, PackageStatus.SCHEDULED)
                if (drafts.revision_by_id(s, pkg.revision_id).content.embargo_at or now) <= now]


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
def reopen_dead_deliveries(package_id: int) -> int:
    """Give this package's dead deliveries a fresh attempt budget (an operator's resend).

    Returns:
        How many were reopened.
    """
    with session() as s:
        count = deliveries.resend_dead(s, package_id, actor="operator")
    get_run_logger().info("package %s: %d dead deliveries reopened", package_id, count)
    return count


@task
def complete_publication(package_id: int) -> str:
    """Mark the package published once at least one destination has it.

    Returns:
        The package status.

    Raises:
        PublicationFailed: no destination accepted the package (it stays approved; resend later).
    """
    with session() as s:
        pkg = packages.get_package(s, package_id)
        rows = deliveries.deliveries_of(s, package_id)
        delivered = [t.name for d, t in rows if d.status == DeliveryStatus.DELIVERED]
        if not delivered:
            errors = "; ".join(f"{t.name}: {d.last_error or d.status}" for d, t in rows)
            raise PublicationFailed(f"no destination accepted package {package_id} ({errors}); "
                                    f"when they are back: bantin publish {package_id} --resend-dead")
        if pkg.status in (PackageStatus.APPROVED, PackageStatus.SCHEDULED):
            packages.set_status(s, pkg, PackageStatus.PUBLISHED, actor="system", destinations=delivered)
            for older in _earlier_published(s, pkg):  # this package is their correction
                packages.set_status(s, older, PackageStatus.CORRECTED, actor="system", corrected_by=pkg.id,
                                    manifest_hash=pkg.manifest_hash)
        return pkg.status


def _earlier_published(s: Session, pkg: PackageRecord) -> list[PackageRecord]:
    return [p for p in packages.packages_of_draft(s, pkg.draft_id)
            if p.id < pkg.id and p.status == PackageStatus.PUBLISHED]
