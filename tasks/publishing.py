"""Publishing tasks: approved package -> one delivery per destination, each sent until it is
acknowledged or given up. A delivered delivery is never sent again, so rerunning a publish (or
resuming one that crashed) delivers nothing twice; a re-send after a crash carries the same
idempotency key so the receiver can recognise it.

Devices are a destination too: they pull what is published for their area (``services.device_schedule``),
so a package reaching authorised devices is published as soon as its publish starts (an emergency must
not wait for slow HTTP receivers), and emergencies are also pushed over MQTT (``tasks.mqtt``).
"""

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from prefect import get_run_logger, task
from prefect.runtime import flow_run
from sqlalchemy.orm import Session

from domain.approvals import check_publishable
from domain.deliveries import DeliveryStatus, PublicationFailed, backoff_delay, is_transient_http_status
from domain.errors import InvalidInput
from domain.packages import PackageStatus, verify_manifest
from domain.payloads import package_payload
from services import device_schedule, emergency_window, signing
from services.devices import devices_reaching
from services.runtime import db_engine, object_store, session
from settings import get_settings
from storage.models import DestinationRecord, PackageRecord
from storage.repositories import audit, deliveries, drafts, packages
from tasks.group_commit import GroupCommitter
from tasks.retry import is_transient, retry_if_transient

T = TypeVar("T")

_db_lock = threading.Lock()  # SQLite has one writer: the sending threads take turns for their short writes


def db_turn() -> Any:
    """A lock for the sender threads' transactions on SQLite (a no-op context on PostgreSQL)."""
    import contextlib

    return _db_lock if db_engine().dialect.name == "sqlite" else contextlib.nullcontext()


def _reaching_devices(s: Session, package_id: int) -> int:
    pkg = packages.get_package(s, package_id)
    return len(devices_reaching(s, list(drafts.revision_by_id(s, pkg.revision_id).content.area_codes)))


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
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
        pkg = packages.get_package(s, package_id)
        check_publishable(status=PackageStatus(pkg.status), manifest_hash=pkg.manifest_hash or "",
                          approved_hashes=packages.approved_hashes(s, package_id))
        manifest_hash, manifest_key = pkg.manifest_hash or "", pkg.manifest_key or ""
        targets = deliveries.list_destinations(s, enabled_only=True)
        if not targets and not _reaching_devices(s, package_id):
            raise InvalidInput("no destination is configured and no authorised device reaches these areas; add one "
                               "with 'bantin destinations add NAME URL' or authorise a device")
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


class PayloadCache:
    """The verified manifest, asset URLs and corrected hashes of each package, read once per fan-out; each
    delivery's payload differs only in its idempotency key (and so its signature)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[int, tuple[str, dict[str, Any], dict[str, str], list[str], str | None]] = {}

    def payload(self, package_id: int, idempotency_key: str) -> dict[str, Any]:
        with self._lock:
            parts = self._parts.get(package_id)
        if parts is None:
            store = object_store()
            with session() as s:
                pkg = packages.get_package(s, package_id)
                manifest = verify_manifest(store.get_bytes(pkg.manifest_key or ""), pkg.manifest_hash or "")
                corrects = [p.manifest_hash or "" for p in _earlier_published(s, pkg)]
                rev = drafts.revision_by_id(s, pkg.revision_id).content
                until = emergency_window.valid_until(s, pkg, priority=rev.priority.value, expires_at=rev.expires_at)
            urls = {a["key"]: store.url(a["key"]) for v in manifest["variants"] for a in v["assets"]}
            parts = (pkg.manifest_hash or "", manifest, urls, corrects, until.isoformat() if until else None)
            with self._lock:
                self._parts[package_id] = parts
        manifest_hash, manifest, urls, corrects, until = parts
        return signing.sign(package_payload(manifest_hash=manifest_hash, manifest=manifest, asset_urls=urls,
                                            idempotency_key=idempotency_key, corrects=corrects, valid_until=until))


def _write(writer: GroupCommitter | None, fn: Callable[[Session], T]) -> T:
    """Run a short state write: through the group committer when there is one, else in its own transaction."""
    if writer is not None:
        return writer.run(fn)
    with db_turn(), session() as s:
        return fn(s)


_client_lock = threading.Lock()
_clients: dict[float, httpx.Client] = {}


def _http() -> httpx.Client:
    """One pooled client per process (and timeout): building a client (TLS context) costs ~0.1 s."""
    timeout = get_settings().http_timeout
    with _client_lock:
        client = _clients.get(timeout)
        if client is None:
            client = _clients[timeout] = httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=256))
        return client


def post_signed(url: str, payload: dict[str, Any], key: str) -> tuple[str, str, bool]:
    """POST one signed document; returns (receipt or "", error or "", whether the error is transient)."""
    try:
        resp = _http().post(url, json=payload, headers={"Idempotency-Key": key})
    except Exception as exc:  # every failure is recorded on the delivery; only transient ones are retried
        return "", f"{type(exc).__name__}: {exc}", is_transient(exc)
    if 200 <= resp.status_code < 300:
        return _receipt(resp), "", False
    return "", f"HTTP {resp.status_code}: {resp.text[:200]}", is_transient_http_status(resp.status_code)


def attempt_delivery(delivery_id: int, *, writer: GroupCommitter | None = None,
                     payloads: PayloadCache | None = None, now: datetime | None = None) -> DeliveryStatus:
    """One attempt to push a package to one destination.

    The send is claimed first (compare-and-set of SENDING on the row as read): two runners of the same
    publish never both send it, and the loser gets SENDING back and leaves it to the owner. The SENDING state
    is committed before the request, so a crash leaves evidence; after ``BANTIN_DELIVERY_CLAIM_TIMEOUT_S``
    another runner (or the sweeper) takes it over and re-sends with the same idempotency key. 2xx is
    delivered; 5xx, 408, 429 and network errors are FAILED (retried) until ``BANTIN_DELIVERY_MAX_ATTEMPTS``;
    other answers are dead at once.

    Returns:
        The delivery's status after the attempt (SENDING: another runner owns this send).
    """
    settings = get_settings()
    claimed_at = now or datetime.now(UTC)
    stale_before = claimed_at - timedelta(seconds=settings.delivery_claim_timeout_s)

    def start(s: Session) -> tuple[DeliveryStatus, int, str, int, str]:
        d = deliveries.get_delivery(s, delivery_id)
        if d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
            return DeliveryStatus(d.status), 0, "", 0, ""
        if not deliveries.claim_delivery(s, d, now=claimed_at, stale_before=stale_before):
            return DeliveryStatus.SENDING, 0, "", 0, ""  # another runner has it
        dest = s.get(DestinationRecord, d.destination_id)
        return DeliveryStatus.SENDING, d.package_id, d.idempotency_key, d.attempts, dest.url if dest else ""

    status, package_id, key, attempts, url = _write(writer, start)
    if status is not DeliveryStatus.SENDING or not key:
        return status
    try:
        receipt, error, transient = post_signed(url, (payloads or PayloadCache()).payload(package_id, key), key)
    except Exception as exc:  # the payload itself could not be built (store unreachable...)
        receipt, error, transient = "", f"{type(exc).__name__}: {exc}", is_transient(exc)

    def finish(s: Session) -> DeliveryStatus:
        d = deliveries.get_delivery(s, delivery_id)
        if receipt:
            deliveries.set_delivery_status(s, d, DeliveryStatus.DELIVERED, receipt_id=receipt)
            return DeliveryStatus.DELIVERED
        retry = transient and attempts < settings.delivery_max_attempts
        target = DeliveryStatus.FAILED if retry else DeliveryStatus.DEAD
        deliveries.set_delivery_status(s, d, target, error=error)
        return target

    return _write(writer, finish)


def deliver_until_done(delivery_id: int, *, rng: random.Random | None = None, writer: GroupCommitter | None = None,
                       payloads: PayloadCache | None = None) -> DeliveryStatus:
    """Attempt a delivery until it is delivered or dead, sleeping an exponential backoff with jitter
    (``BANTIN_DELIVERY_BACKOFF_SECONDS`` doubling per attempt) between transient failures."""
    settings = get_settings()
    rng = rng or random.Random()
    attempt = 0
    while True:
        status = attempt_delivery(delivery_id, writer=writer, payloads=payloads)
        attempt += 1
        if status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD, DeliveryStatus.SENDING):
            return status  # SENDING: another runner owns the send and will finish it
        time.sleep(backoff_delay(attempt, settings.delivery_backoff_seconds, rand=rng.random()))


def fan_out(delivery_ids: list[int]) -> dict[str, int]:
    """Send many deliveries at once (``BANTIN_DELIVERY_CONCURRENCY`` in flight), each until delivered or dead,
    with their state writes group-committed.

    Returns:
        How many ended in each status.
    """
    workers = max(1, min(get_settings().delivery_concurrency, len(delivery_ids) or 1))
    payloads = PayloadCache()
    with GroupCommitter() as writer, ThreadPoolExecutor(workers, thread_name_prefix="bantin-deliver") as pool:
        results = list(pool.map(lambda i: deliver_until_done(i, writer=writer, payloads=payloads), delivery_ids))
    counts: dict[str, int] = {}
    for status in results:
        counts[status.value] = counts.get(status.value, 0) + 1
    return counts


@task(task_run_name="deliver-{delivery_id}", retries=2, retry_delay_seconds=[1, 5],
      retry_condition_fn=retry_if_transient)
def deliver(delivery_id: int) -> str:
    """Push the package to one destination, retrying transient failures with backoff and jitter.

    Returns:
        The delivery's final status (delivered or dead).
    """
    status = deliver_until_done(delivery_id)
    if status is DeliveryStatus.DEAD:
        get_run_logger().error("delivery %s is dead; resend with 'bantin deliveries resend %s'", delivery_id,
                               delivery_id)
    return status.value


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
def deliver_all(delivery_ids: list[int]) -> dict[str, int]:
    """Send many deliveries at once (``BANTIN_DELIVERY_CONCURRENCY`` in flight), each until delivered or dead.

    One task for the whole fan-out: a thousand destinations cost a thousand HTTP requests, not a thousand
    task runs. Each delivery keeps its own state, attempts and error in the database.

    Returns:
        How many ended in each status.
    """
    counts = fan_out(delivery_ids)
    get_run_logger().info("deliveries: %s", counts)
    return counts


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


def _mark_published(s: Session, pkg: PackageRecord, destinations: list[str]) -> None:
    if pkg.status in (PackageStatus.APPROVED, PackageStatus.SCHEDULED):
        packages.set_status(s, pkg, PackageStatus.PUBLISHED, actor="system", destinations=destinations)
        for older in _earlier_published(s, pkg):  # this package is their correction
            packages.set_status(s, older, PackageStatus.CORRECTED, actor="system", corrected_by=pkg.id,
                                manifest_hash=pkg.manifest_hash)
    device_schedule.invalidate()


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_if_transient)
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
    with session() as s:
        pkg = packages.get_package(s, package_id)
        rows = deliveries.deliveries_of(s, package_id)
        delivered = [t.name for d, t in rows if d.status == DeliveryStatus.DELIVERED]
        reached = _reaching_devices(s, package_id)
        if reached:
            delivered.append(f"devices ({reached})")
        if not delivered and any(d.status == DeliveryStatus.SENDING for d, _ in rows):
            return pkg.status  # another runner is sending it and will complete the publication
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


def _earlier_published(s: Session, pkg: PackageRecord) -> list[PackageRecord]:
    return [p for p in packages.packages_of_draft(s, pkg.draft_id)
            if p.id < pkg.id and p.status == PackageStatus.PUBLISHED]
