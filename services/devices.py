"""Devices: registration and authorisation, request authentication, inventories, play logs and acks.

Polls are the hot path (every device, every minute), so what they need is cached per process for
``BANTIN_DEVICE_CACHE_S`` seconds: a device's key and status, and each area's schedule (see
``services.device_schedule``). Changes made in this process (authorise, revoke, publish, withdraw) clear the
caches at once; other nodes catch up within that many seconds, and emergencies do not wait for a poll
(they also go out over MQTT).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.areas import Area, ancestors
from domain.devices import (
    PLAYLOG_MAX_AGE,
    DeviceKind,
    DeviceStatus,
    Registration,
    parse_ack,
    parse_inventory,
    parse_playlogs,
    verify_request,
)
from domain.errors import ApprovalRefused, Conflict, DomainError, Forbidden, InvalidInput, Unauthenticated
from domain.reports import parse_health
from domain.signatures import SignatureInvalid, unb64
from services import auth, live, relays, rollups
from services.caches import CACHES
from settings import get_settings
from storage.models import DraftRevisionRecord, PackageRecord, UserRecord
from storage.models_devices import DeviceRecord
from storage.models_programs import ProgramEditionRecord
from storage.repositories import areas, audit, users
from storage.repositories import devices as repo


class DeviceConflict(Conflict):
    """A known hardware id registered again with another key (answered 409)."""


class DeviceUnauthenticated(Unauthenticated):
    """A request without a valid device signature (answered 401)."""


class DeviceForbidden(Forbidden):
    """A device that is not (or no longer) authorised (answered 403)."""


@dataclass(frozen=True, slots=True)
class DeviceAuth:
    """What a request handler knows about the device that signed it."""

    id: int
    public_key: bytes
    status: DeviceStatus
    area_code: str
    kind: DeviceKind


FLUSH_SEEN_S = 10.0  # last_seen_at of every device heard from is written in one statement this often per node


def forget(device_id: int | None = None) -> None:
    """Drop cached device state (all of it, or one device's)."""
    if device_id is None:
        CACHES.device_auth.clear()
        CACHES.seen.clear()
        CACHES.area_map.clear()
    else:
        CACHES.device_auth.pop(device_id)


def area_map(s: Session) -> dict[str, Area]:
    """Every area by code (cached ``BANTIN_AREA_CACHE_S``: areas change with a seed reload, not per request)."""
    return CACHES.area_map.get_or_build(None, lambda: areas.all_areas(s))


def area_chain(code: str, all_areas: dict[str, Area]) -> list[str]:
    """The area and its ancestors, nearest first."""
    return [code, *(a.code for a in ancestors(code, all_areas))]


def area_languages(code: str, all_areas: dict[str, Area]) -> tuple[str, ...]:
    """The languages heard in an area: its own list, else the nearest ancestor's, else Vietnamese."""
    for c in area_chain(code, all_areas):
        if all_areas[c].languages:
            return tuple(all_areas[c].languages)
    return ("vi",)


# --- registration and authorisation -----------------------------------------------------------------

def register(s: Session, reg: Registration) -> tuple[DeviceRecord, bool]:
    """Register a device, idempotently: the same hardware id and key return the same device. A revoked
    device may come back with a new key (its old one lost); it is then pending again.

    Returns:
        The device and whether it is newly pending (created now, or a revoked device's new key).

    Raises:
        DeviceConflict: the hardware id is known with another key and not revoked.
        NotFound: the area code is unknown.
    """
    known = repo.find_by_hardware_id(s, reg.hardware_id)
    if known is not None:
        if unb64(known.public_key) == reg.public_key:
            return known, False
        if DeviceStatus(known.status) is not DeviceStatus.REVOKED:
            # Never let a second key take over a live registration: an admin decides (a box whose key file was
            # lost or reset, or an impostor knowing the hardware id).
            raise DeviceConflict(f"hardware id {reg.hardware_id!r} is registered as device {known.id} with another "
                                 f"key; if this box lost its key, an admin revokes device {known.id} ('bantin "
                                 "devices revoke') and the box then registers with its new key, pending authorisation")
        areas.get_area(s, reg.area_code)
        repo.rekey_device(s, known, reg)
        forget(known.id)
        return known, True
    areas.get_area(s, reg.area_code)
    return repo.add_device(s, reg), True


def _admin_for(s: Session, username: str, device: DeviceRecord) -> UserRecord:
    user = users.get_user(s, username)
    if not auth.can(s, user, "admin", area_codes=[device.area_code]):
        raise auth_refused(username, device)
    return user


def auth_refused(username: str, device: DeviceRecord) -> DomainError:
    return ApprovalRefused(f"user '{username}' is not an admin of area {device.area_code} (device {device.id})")


def authorise(s: Session, device_id: int, *, username: str) -> DeviceRecord:
    """An admin of the device's area lets it fetch schedules and files.

    Raises:
        NotFound: no such device or user.
        ApprovalRefused: the user is not an admin of the device's area.
        InvalidTransition: it is authorised already.
    """
    device = repo.get_device(s, device_id)
    user = _admin_for(s, username, device)
    repo.set_device_status(s, device, DeviceStatus.AUTHORISED, actor=user.username)
    forget(device_id)
    return device


def revoke(s: Session, device_id: int, *, username: str, reason: str = "") -> DeviceRecord:
    """An admin of the device's area shuts it out (403 from the next request on).

    Raises:
        NotFound, ApprovalRefused, InvalidTransition: as for :func:`authorise`.
    """
    device = repo.get_device(s, device_id)
    user = _admin_for(s, username, device)
    repo.set_device_status(s, device, DeviceStatus.REVOKED, actor=user.username, reason=reason)
    forget(device_id)
    return device


# --- request authentication -------------------------------------------------------------------------

def _load_auth(s: Session, device_id: int) -> DeviceAuth | None:
    hit = CACHES.device_auth.entry(device_id)
    if hit is not None:
        return hit.value
    rec = s.get(DeviceRecord, device_id)
    value = None if rec is None else DeviceAuth(rec.id, unb64(rec.public_key), DeviceStatus(rec.status),
                                                rec.area_code, DeviceKind(rec.kind))
    return CACHES.device_auth.put(device_id, value)


def may_listen(s: Session, device_id: int) -> bool:
    """Whether a device may pull its area's stream now (it is authorised; a revoked box's token stops working)."""
    found = _load_auth(s, device_id)
    return found is not None and found.status is DeviceStatus.AUTHORISED


def _verify(device: DeviceAuth, headers: Any, method: str, path_with_query: str, body: bytes, now: datetime,
            require_authorised: bool) -> None:
    try:
        verify_request(device.public_key, method=method, path_with_query=path_with_query,
                       timestamp=headers.get("x-bantin-timestamp") or "", body=body,
                       signature_b64=headers.get("x-bantin-signature") or "", now=now,
                       skew_s=get_settings().device_clock_skew_s)
    except SignatureInvalid as exc:
        raise DeviceUnauthenticated(str(exc)) from None
    if require_authorised and device.status is not DeviceStatus.AUTHORISED:
        raise DeviceForbidden(f"device {device.id} is {device.status.value}; an admin must authorise it")


def _device_id(headers: Any) -> int:
    raw_id = headers.get("x-bantin-device") or ""
    if not (raw_id.isdigit() and headers.get("x-bantin-timestamp") and headers.get("x-bantin-signature")):
        raise DeviceUnauthenticated("missing X-Bantin-Device, X-Bantin-Timestamp or X-Bantin-Signature")
    return int(raw_id)


def authenticate(s: Session, *, headers: Any, method: str, path_with_query: str, body: bytes,
                 now: datetime | None = None, require_authorised: bool = True) -> DeviceAuth:
    """Check the ``X-Bantin-*`` headers of a device request (see docs/device-protocol.md §1).

    Raises:
        DeviceUnauthenticated: headers missing, unknown device, stale timestamp or bad signature (401).
        DeviceForbidden: the device is pending or revoked (403).
    """
    device_id = _device_id(headers)
    device = _load_auth(s, device_id)
    if device is None:
        raise DeviceUnauthenticated(f"unknown device {device_id}")
    now = now or datetime.now(UTC)
    _verify(device, headers, method, path_with_query, body, now, require_authorised)
    CACHES.seen.note(device.id, now)
    if CACHES.seen.due(FLUSH_SEEN_S):
        _write_seen(s, CACHES.seen.take())
    return device


def _write_seen(s: Session, seen: dict[int, datetime]) -> None:
    """Store when devices were last heard from, first recording the outages and returns the new times reveal."""
    rollups.record_poll_gaps(s, seen, rollups.Thresholds.from_settings())
    repo.touch_many(s, seen)


def authenticate_cached(*, headers: Any, method: str, path_with_query: str, body: bytes) -> DeviceAuth | None:
    """:func:`authenticate` without the database: None when it would need it (device not cached, or the
    pending ``last_seen_at`` values are due to be written), so the caller takes the full path.

    Raises:
        DeviceUnauthenticated, DeviceForbidden: as :func:`authenticate`, for a cached device.
    """
    device_id = _device_id(headers)
    device = CACHES.device_auth.get(device_id)
    if device is None:
        return None
    if CACHES.seen.due(FLUSH_SEEN_S):
        return None  # the full path writes the pending last_seen_at values
    now = datetime.now(UTC)
    _verify(device, headers, method, path_with_query, body, now, True)
    CACHES.seen.note(device_id, now)
    return device


# --- reports ----------------------------------------------------------------------------------------

def report_inventory(s: Session, device: DeviceAuth, body: Any) -> None:
    """Store a device's inventory and its optional health report (absurd health values are dropped and
    counted, see ``domain.reports.parse_health``). Raises ``InvalidInput`` for a malformed body."""
    inv = parse_inventory(body)
    now = datetime.now(UTC)
    health = parse_health(body.get("health"), now=now, skew_s=get_settings().device_clock_skew_s)
    rollups.record_poll_gaps(s, {device.id: now}, rollups.Thresholds.from_settings())
    repo.save_inventory(s, repo.get_device(s, device.id), inv, now)
    rollups.save_health(s, device.id, health, inv.free_bytes, now)


def _never_sent(s: Session, device: DeviceAuth, manifest_hashes: set[str]) -> list[str]:
    """The manifest hashes among these that were never meant for this device: not a package aimed at its
    area or an area above it (default content included), nor a programme edition for its area."""
    if not manifest_hashes:
        return []
    chain = set(area_chain(device.area_code, area_map(s)))
    meant: set[str] = set()
    rows = s.execute(select(PackageRecord.manifest_hash, DraftRevisionRecord.area_codes)
                     .join(DraftRevisionRecord, DraftRevisionRecord.id == PackageRecord.revision_id)
                     .where(PackageRecord.manifest_hash.in_(manifest_hashes)))
    meant.update(h for h, codes in rows if chain.intersection(codes or ()))
    meant.update(s.scalars(select(ProgramEditionRecord.manifest_hash)
                           .where(ProgramEditionRecord.manifest_hash.in_(manifest_hashes),
                                  ProgramEditionRecord.area_code.in_(chain))))
    if manifest_hashes - meant:  # relay airings (stream items) name themselves by a hash of the airing
        now = datetime.now(UTC)
        meant.update(relays.airing_hashes(s, chain, now - PLAYLOG_MAX_AGE, now + timedelta(days=1)))
        meant.update(live.session_hashes(s, chain, now - PLAYLOG_MAX_AGE))  # live sessions too
    return sorted(manifest_hashes - meant)


def upload_play_logs(s: Session, device: DeviceAuth, body: Any, *, now: datetime | None = None) -> tuple[int, int]:
    """Store a batch of play logs; a ``log_id`` sent before counts once.

    Only items that were sent to this device, at times within the last month, are accepted.

    Returns:
        (accepted, duplicates).

    Raises:
        InvalidInput: a malformed entry, a time outside the window, or a manifest never sent to this device
            (the whole batch is refused, nothing is stored).
    """
    now = now or datetime.now(UTC)
    entries = parse_playlogs(body, now=now)
    foreign = _never_sent(s, device, {e.manifest_hash for e in entries})
    if foreign:
        raise InvalidInput(f"manifest {foreign[0][:16]}… was never sent to device {device.id}; "
                           "play logs are accepted only for what the device was given")
    unique = list({e.log_id: e for e in entries}.values())
    accepted = repo.add_play_logs(s, device.id, unique, now)
    if accepted:
        audit.record(s, actor=f"device:{device.id}", action="device.playlogs", entity="device",
                     entity_id=device.id, accepted=accepted, duplicates=len(entries) - accepted)
    return accepted, len(entries) - accepted


def acknowledge(s: Session, device: DeviceAuth, body: Any, *, now: datetime | None = None) -> bool:
    """Record that an emergency reached the device.

    Raises:
        InvalidInput: a malformed body, a time outside the window, or a manifest never sent to this device.
    """
    now = now or datetime.now(UTC)
    ack = parse_ack(body, now=now)
    if _never_sent(s, device, {ack.manifest_hash}):
        raise InvalidInput(f"manifest {ack.manifest_hash[:16]}… was never sent to device {device.id}")
    return repo.add_ack(s, device.id, ack, now)


# --- views ------------------------------------------------------------------------------------------

def device_row(d: DeviceRecord) -> dict[str, Any]:
    inv = d.last_inventory or {}
    return {"id": d.id, "hardware_id": d.hardware_id, "name": d.name, "area_code": d.area_code, "kind": d.kind,
            "status": d.status, "registered_at": d.registered_at, "authorised_by": d.authorised_by,
            "last_seen_at": d.last_seen_at, "files": len(inv.get("files", [])), "free_bytes": inv.get("free_bytes"),
            "playing": inv.get("playing"), "agent_version": d.agent_version}


def devices_reaching(s: Session, area_codes: list[str]) -> list[DeviceRecord]:
    """Authorised devices inside any of these areas (they receive a package targeted at them), by id."""
    return devices_reaching_each(s, [area_codes])[0]


def devices_reaching_each(s: Session, groups: Sequence[Sequence[str]]) -> list[list[DeviceRecord]]:
    """:func:`devices_reaching` for each list of areas in ``groups``, from one query of the devices however many
    lists there are (a list page's proof of play)."""
    all_areas = area_map(s)
    inside: dict[str, list[DeviceRecord]] = {}  # an area -> the authorised devices in it or below it
    for d in repo.list_devices(s, status=DeviceStatus.AUTHORISED):
        if d.area_code in all_areas:
            for code in area_chain(d.area_code, all_areas):
                inside.setdefault(code, []).append(d)
    out = []
    for codes in groups:
        found = {d.id: d for c in codes for d in inside.get(c, [])}
        out.append([found[i] for i in sorted(found)])
    return out


def package_device_status(s: Session, manifest_hash: str | None, area_codes: list[str]) -> list[dict[str, Any]]:
    """For a package page: each device it reaches, whether it acknowledged (emergencies), and its plays."""
    if not manifest_hash:
        return []
    acks = repo.acks_for(s, manifest_hash)
    plays: dict[int, int] = {}
    for p in repo.play_logs(s, manifest_hash=manifest_hash, limit=10_000):
        plays[p.device_id] = plays.get(p.device_id, 0) + 1
    out = []
    for d in devices_reaching(s, area_codes):
        ack = acks.get(d.id)
        out.append({"id": d.id, "name": d.name, "area_code": d.area_code, "kind": d.kind,
                    "acked_at": ack.acked_at if ack else None, "channel": ack.channel if ack else None,
                    "plays": plays.get(d.id, 0), "last_seen_at": d.last_seen_at})
    return out


def devices_for(s: Session, username: str, status: DeviceStatus | None = None) -> list[DeviceRecord]:
    """The devices in the areas ``username`` administers (every device for an installation admin), for the web
    page and the CLI alike.

    Raises:
        Forbidden: the user administers no area.
    """
    user = auth.acting_user(s, username, what="see devices")
    if not auth.can_anywhere(s, user, "admin"):
        raise Forbidden(f"user '{user.username}' administers no area")
    return [d for d in repo.list_devices(s, status=status) if auth.can(s, user, "admin", area_codes=[d.area_code])]


def device_for(s: Session, username: str, device_id: int) -> DeviceRecord:
    """One device, shown to an admin of its area only (its key, inventory and play log).

    Raises:
        NotFound: no such device.
        ApprovalRefused: the user is not an admin of the device's area.
    """
    device = repo.get_device(s, device_id)
    _admin_for(s, username, device)
    return device
