"""Sending the outbox: every row (a package's delivery, or a withdrawal/kill notice) goes out by one path.

Each send is claimed first (compare-and-set of SENDING on the row as read), so two runners never both send
it; the SENDING state is committed before the request, so a crash leaves evidence, and after
``BANTIN_DELIVERY_CLAIM_TIMEOUT_S`` another runner (or the sweeper) takes it over and re-sends with the same
idempotency key. 2xx is delivered; 5xx, 408, 429 and network errors are FAILED and retried with exponential
backoff and jitter (``BANTIN_DELIVERY_BACKOFF_SECONDS``) until ``BANTIN_DELIVERY_MAX_ATTEMPTS``; other answers
are dead at once. A delivered row is never sent again.
"""

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from prefect import get_run_logger, task
from sqlalchemy.orm import Session

from domain.deliveries import (
    DeliveryStatus,
    OutboxAction,
    OutboxKind,
    backoff_delay,
    is_transient_http_status,
    kind_of,
)
from domain.packages import PackageStatus, verify_manifest
from domain.payloads import package_payload, retraction_payload
from services import asset_links, audit_anchor, emergency_window, signing
from services.runtime import db_engine, object_store, session
from settings import get_settings
from storage.models import DestinationRecord, PackageRecord
from storage.repositories import audit, drafts, outbox, packages
from tasks.group_commit import GroupCommitter
from tasks.retry import RETRY_TRANSIENT, is_transient

T = TypeVar("T")

_db_lock = threading.Lock()  # SQLite has one writer: the sending threads take turns for their short writes


def db_turn() -> Any:
    """A lock for the sender threads' transactions on SQLite (a no-op context on PostgreSQL)."""
    import contextlib

    return _db_lock if db_engine().dialect.name == "sqlite" else contextlib.nullcontext()


def earlier_published(s: Session, pkg: PackageRecord) -> list[PackageRecord]:
    """Published packages of the same draft that ``pkg`` corrects."""
    return [p for p in packages.packages_of_draft(s, pkg.draft_id)
            if p.id < pkg.id and p.status == PackageStatus.PUBLISHED]


@dataclass(frozen=True)
class _Claim:
    """What a claimed row needs for its send."""

    kind: OutboxKind
    action: OutboxAction
    package_id: int
    key: str
    attempts: int
    url: str


class PayloadCache:
    """What each package's documents share, read once per fan-out: the verified manifest, asset URLs and
    corrected hashes (deliveries), the reason and time (retractions). Each row's document differs only in its
    idempotency key (and so its signature)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[tuple[int, OutboxKind], dict[str, Any]] = {}

    def payload(self, package_id: int, idempotency_key: str,
                action: OutboxAction = OutboxAction.PUBLISH) -> dict[str, Any]:
        kind = kind_of(action)
        with self._lock:
            parts = self._parts.get((package_id, kind))
        if parts is None:
            build = self._package_parts if kind is OutboxKind.DELIVERY else self._retraction_parts
            parts = build(package_id)
            with self._lock:
                self._parts[(package_id, kind)] = parts
        if kind is OutboxKind.DELIVERY:
            return signing.sign(package_payload(idempotency_key=idempotency_key, **parts))
        return signing.sign(retraction_payload(action=action.value, idempotency_key=idempotency_key, **parts))

    @staticmethod
    def _package_parts(package_id: int) -> dict[str, Any]:
        store = object_store()
        with session() as s:
            pkg = packages.get_package(s, package_id)
            manifest = verify_manifest(store.get_bytes(pkg.manifest_key or ""), pkg.manifest_hash or "")
            corrects = [p.manifest_hash or "" for p in earlier_published(s, pkg)]
            rev = drafts.revision_by_id(s, pkg.revision_id).content
            until = emergency_window.valid_until(s, pkg, priority=rev.priority.value, expires_at=rev.expires_at)
        settings, now = get_settings(), datetime.now(UTC)
        urls = {a["key"]: asset_links.asset_url(store, a["key"], base_url=settings.public_base_url, now=now,
                                                ttl=timedelta(seconds=settings.asset_url_ttl_s))
                for v in manifest["variants"] for a in v["assets"]}
        return {"manifest_hash": pkg.manifest_hash or "", "manifest": manifest, "asset_urls": urls,
                "corrects": corrects, "valid_until": until.isoformat() if until else None,
                "audit_checkpoint": audit_anchor.latest_checkpoint(store)}

    @staticmethod
    def _retraction_parts(package_id: int) -> dict[str, Any]:
        with session() as s:
            pkg = packages.get_package(s, package_id)
            reason, at = "", datetime.now(UTC).isoformat()
            for e in reversed(audit.entries(s, entity="package", entity_id=package_id)):
                if e.action in ("package.withdrawn", "package.killed"):
                    reason, at = str(e.detail.get("reason", "")), e.at.isoformat()
                    break
        return {"manifest_hash": pkg.manifest_hash or "", "reason": reason, "retracted_at": at,
                "audit_checkpoint": audit_anchor.latest_checkpoint(object_store())}


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
    except Exception as exc:  # every failure is recorded on the row; only transient ones are retried
        return "", f"{type(exc).__name__}: {exc}", is_transient(exc)
    if 200 <= resp.status_code < 300:
        return _receipt(resp), "", False
    return "", f"HTTP {resp.status_code}: {resp.text[:200]}", is_transient_http_status(resp.status_code)


def _receipt(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    receipt = body.get("receipt_id") if isinstance(body, dict) else None
    return str(receipt or resp.headers.get("X-Receipt-Id") or f"http-{resp.status_code}")


def attempt(outbox_id: int, *, writer: GroupCommitter | None = None, payloads: PayloadCache | None = None,
            now: datetime | None = None) -> DeliveryStatus:
    """One attempt to send one outbox row (see the module's docstring for the rules).

    Returns:
        The row's status after the attempt (SENDING: another runner owns this send).
    """
    settings = get_settings()
    claimed_at = now or datetime.now(UTC)
    stale_before = claimed_at - timedelta(seconds=settings.delivery_claim_timeout_s)

    def start(s: Session) -> DeliveryStatus | _Claim:
        rec = outbox.get(s, outbox_id)
        if rec.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD):
            return DeliveryStatus(rec.status)
        if not outbox.claim(s, rec, now=claimed_at, stale_before=stale_before):
            return DeliveryStatus.SENDING  # another runner has it
        dest = s.get(DestinationRecord, rec.destination_id)
        return _Claim(OutboxKind(rec.kind), OutboxAction(rec.action), rec.package_id, rec.idempotency_key,
                      rec.attempts, dest.url if dest else "")

    claimed = _write(writer, start)
    if isinstance(claimed, DeliveryStatus):
        return claimed
    try:
        document = (payloads or PayloadCache()).payload(claimed.package_id, claimed.key, claimed.action)
        receipt, error, transient = post_signed(claimed.url, document, claimed.key)
    except Exception as exc:  # the document itself could not be built (store unreachable...)
        receipt, error, transient = "", f"{type(exc).__name__}: {exc}", is_transient(exc)

    def finish(s: Session) -> DeliveryStatus:
        rec = outbox.get(s, outbox_id)
        if receipt:
            outbox.set_status(s, rec, DeliveryStatus.DELIVERED, receipt_id=receipt)
            return DeliveryStatus.DELIVERED
        retry = transient and claimed.attempts < settings.delivery_max_attempts
        target = DeliveryStatus.FAILED if retry else DeliveryStatus.DEAD
        outbox.set_status(s, rec, target, error=error)
        return target

    return _write(writer, finish)


def send_until_done(outbox_id: int, *, rng: random.Random | None = None, writer: GroupCommitter | None = None,
                    payloads: PayloadCache | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> DeliveryStatus:
    """Attempt a row until it is delivered or dead, sleeping an exponential backoff with jitter between
    transient failures."""
    settings = get_settings()
    rng = rng or random.Random()
    attempts = 0
    while True:
        status = attempt(outbox_id, writer=writer, payloads=payloads)
        attempts += 1
        if status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD, DeliveryStatus.SENDING):
            return status  # SENDING: another runner owns the send and will finish it
        sleep(backoff_delay(attempts, settings.delivery_backoff_seconds, rand=rng.random()))


def fan_out(outbox_ids: list[int]) -> dict[str, int]:
    """Send many rows at once (``BANTIN_DELIVERY_CONCURRENCY`` in flight), each until delivered or dead, with
    their state writes group-committed.

    Returns:
        How many ended in each status.
    """
    workers = max(1, min(get_settings().delivery_concurrency, len(outbox_ids) or 1))
    payloads = PayloadCache()
    with GroupCommitter() as writer, ThreadPoolExecutor(workers, thread_name_prefix="bantin-outbox") as pool:
        results = list(pool.map(lambda i: send_until_done(i, writer=writer, payloads=payloads), outbox_ids))
    counts: dict[str, int] = {}
    for status in results:
        counts[status.value] = counts.get(status.value, 0) + 1
    return counts


@task(**RETRY_TRANSIENT)
def send_outbox(outbox_ids: list[int]) -> dict[str, int]:
    """Send outbox rows (deliveries and retraction notices alike), each until delivered or dead.

    One task for the whole fan-out: a thousand destinations cost a thousand HTTP requests, not a thousand
    task runs. Each row keeps its own state, attempts and error in the database.

    Returns:
        How many ended in each status.
    """
    counts = fan_out(outbox_ids)
    get_run_logger().info("outbox: %s", counts)
    return counts
