"""Devices and what they are told: registration rules, request signatures, schedule and emergency documents.

Pure (no I/O). The wire format is specified in ``docs/device-protocol.md``; this module is its executable
half on the server side: the service layer gathers records, these functions shape and check documents.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from domain.canonical import canonical_json, sha256_hex
from domain.errors import InvalidInput
from domain.priority import Priority
from domain.schedules import EMERGENCY_SCHEMA, SCHEDULE_SCHEMA, FileRef, ScheduleItem
from domain.signatures import SignatureInvalid, unb64, verify_bytes
from domain.statemachine import check_transition

MAX_PLAYLOG_BATCH = 500
KEY_SCHEMA = "bantin.key/1"
_SHA = re.compile(r"^[0-9a-f]{64}$")
_FILE_NAME = re.compile(r"^[0-9a-f]{64}\.[a-z0-9]{1,8}$")
_HARDWARE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,127}$")
_TEXT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


class DeviceKind(StrEnum):
    SPEAKER = "speaker"  # a loudspeaker cluster's player box
    BOARD = "board"  # an electronic board


class DeviceStatus(StrEnum):
    PENDING = "pending"  # registered, waiting for an admin
    AUTHORISED = "authorised"
    REVOKED = "revoked"  # refused (403) until an admin authorises it again, or it registers with a new key


DEVICE_TRANSITIONS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    DeviceStatus.PENDING: frozenset({DeviceStatus.AUTHORISED, DeviceStatus.REVOKED}),
    DeviceStatus.AUTHORISED: frozenset({DeviceStatus.REVOKED}),
    # A revoked box that lost its key registers again with a new one and waits for an admin (PENDING).
    DeviceStatus.REVOKED: frozenset({DeviceStatus.AUTHORISED, DeviceStatus.PENDING}),
}


def transition_device(current: DeviceStatus, target: DeviceStatus) -> DeviceStatus:
    """Enforce :data:`DEVICE_TRANSITIONS`; raises ``InvalidTransition``."""
    return check_transition("device", DEVICE_TRANSITIONS, current, target)


class PlayTrigger(StrEnum):
    SCHEDULE = "schedule"
    EMERGENCY = "emergency"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class Registration:
    hardware_id: str
    public_key: bytes
    name: str
    area_code: str
    kind: DeviceKind


def parse_registration(body: Any) -> Registration:
    """Check a ``POST /register`` body.

    Raises:
        InvalidInput: a field is missing or malformed (the message names it).
    """
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    hardware_id = str(body.get("hardware_id") or "").strip()
    if not _HARDWARE_ID.match(hardware_id):
        raise InvalidInput("hardware_id: 3-128 characters of letters, digits and . _ : -")
    try:
        public_key = unb64(str(body.get("public_key") or ""))
    except SignatureInvalid:
        raise InvalidInput("public_key: not base64") from None
    if len(public_key) != 32:
        raise InvalidInput("public_key: a raw Ed25519 public key is 32 bytes (base64)")
    name = str(body.get("name") or "").strip() or hardware_id
    if len(name) > 200:
        raise InvalidInput("name: at most 200 characters")
    area_code = str(body.get("area_code") or "").strip()
    if not re.fullmatch(r"\d{2,5}", area_code):
        raise InvalidInput("area_code: an official area code (2, 3 or 5 digits)")
    try:
        kind = DeviceKind(str(body.get("kind") or ""))
    except ValueError:
        raise InvalidInput("kind: 'speaker' or 'board'") from None
    return Registration(hardware_id, public_key, name, area_code, kind)


# --- request signatures ---------------------------------------------------------------------------------

def request_message(method: str, path_with_query: str, timestamp: str, body: bytes) -> bytes:
    """What a device signs for each request: method, path with query, timestamp and the body's SHA-256."""
    return f"{method.upper()}\n{path_with_query}\n{timestamp}\n{sha256_hex(body)}".encode()


def verify_request(public_key: bytes, *, method: str, path_with_query: str, timestamp: str, body: bytes,
                   signature_b64: str, now: datetime, skew_s: int) -> None:
    """Check a device request's ``X-Bantin-*`` signature and freshness.

    Raises:
        SignatureInvalid: a stale or unparseable timestamp, or a signature that does not match.
    """
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureInvalid("X-Bantin-Timestamp is not unix seconds") from None
    if abs(now.timestamp() - ts) > skew_s:
        raise SignatureInvalid(f"X-Bantin-Timestamp is more than {skew_s} s away from the server's clock")
    verify_bytes(public_key, request_message(method, path_with_query, timestamp, body), signature_b64)


# --- files ----------------------------------------------------------------------------------------------

def is_safe_file_name(name: str) -> bool:
    """A device file name is ``<sha256>.<ext>``: no path separators, no ``..``, nothing else."""
    return bool(_FILE_NAME.match(name))


def is_sha256(value: str) -> bool:
    return bool(_SHA.match(value))


def file_name(sha256: str, key: str) -> str:
    """The flat name a device stores a file under (the extension of the object key)."""
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else "bin"
    name = f"{sha256}.{ext}"
    if not is_safe_file_name(name):
        raise InvalidInput(f"object {key!r} has no safe device file name")
    return name


# --- schedules ------------------------------------------------------------------------------------------

def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def window_start(now: datetime) -> datetime:
    """Look-ahead windows start on the hour, so the schedule (and its ETag) stays the same between polls
    until something changes or the hour turns."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def file_json(ref: FileRef) -> dict[str, Any]:
    return {"name": ref.name, "url": ref.url, "size": ref.size, "sha256": ref.sha256}


def item_json(item: ScheduleItem) -> dict[str, Any]:
    """One schedule item as the protocol's JSON object."""
    return {
        "item_id": item.item_id, "kind": item.kind, "manifest_hash": item.manifest_hash,
        "priority": item.priority, "language": item.language, "title": item.title,
        "starts_at": iso(item.starts_at), "expires_at": iso(item.expires_at),
        "repeat_every_s": item.repeat_every_s,
        "audio": file_json(item.audio) if item.audio else None,
        "slides": [file_json(s) for s in item.slides],
    }


def _rank(item: ScheduleItem) -> tuple[int, str, str]:
    try:
        rank = Priority(item.priority).rank
    except ValueError:
        rank = 0
    return (-rank, iso(item.starts_at) or "", item.item_id)


def order_items(items: list[ScheduleItem]) -> list[ScheduleItem]:
    """Emergencies first, then priority items, then normal ones; each by start time, then id (stable)."""
    return sorted(items, key=_rank)


def schedule_body(*, device_id: int, area_code: str, start: datetime, end: datetime, items: list[dict[str, Any]],
                  withdrawn: list[str], default_content: list[dict[str, Any]], quiet_hours: list[dict[str, Any]],
                  volume_profile: list[dict[str, Any]]) -> dict[str, Any]:
    """The schedule without ``etag``, ``generated_at`` and ``signature`` (what the ETag is computed over)."""
    return {
        "schema": SCHEDULE_SCHEMA, "device_id": device_id, "area_code": area_code,
        "window": {"from": iso(start), "until": iso(end)},
        "items": items, "withdrawn": sorted(set(withdrawn)), "default_content": default_content,
        "quiet_hours": quiet_hours, "volume_profile": volume_profile,
    }


def schedule_etag(body: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({k: v for k, v in body.items()
                                      if k not in ("etag", "signature", "generated_at")}))


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (quoted or not, weak or not, or ``*``)."""
    if not if_none_match:
        return False
    for part in if_none_match.split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if tag in (etag, "*"):
            return True
    return False


# --- emergencies ----------------------------------------------------------------------------------------

class EmergencyAction(StrEnum):
    """What an MQTT emergency message tells devices: play the alert now, or stop it (withdrawn or killed)."""

    PLAY = "play"
    STOP = "stop"


def emergency_topic(area_code: str) -> str:
    return f"bantin/v1/area/{area_code}/emergency"


def refetch_topic(area_code: str) -> str:
    """Where the server tells an area's devices to fetch their schedule now (a live session started or
    stopped). The message carries no authority: the schedule it leads to is signed."""
    return f"bantin/v1/area/{area_code}/refetch"


def emergency_document(*, action: str, items: list[dict[str, Any]], issued_at: datetime) -> dict[str, Any]:
    """The unsigned ``bantin.emergency/1`` message for one area: ``item`` is the first of ``items`` (one per
    language the area hears, source language first)."""
    if action not in tuple(EmergencyAction):
        raise InvalidInput(f"emergency action must be play or stop, not {action!r}")
    if not items:
        raise InvalidInput("an emergency message needs at least one item")
    return {"schema": EMERGENCY_SCHEMA, "action": action, "item": items[0], "items": items,
            "issued_at": iso(issued_at)}


def message_expiry_s(expires_at: datetime | None, now: datetime, *, minimum: int = 1) -> int:
    """MQTT 5 message-expiry interval: the seconds left until ``expires_at`` (at least ``minimum``)."""
    if expires_at is None:
        return minimum
    return max(minimum, int((expires_at - now).total_seconds()))


# --- reports from devices -------------------------------------------------------------------------------

def parse_time(value: Any, field: str) -> datetime:
    """An ISO 8601 time with an offset, as aware UTC.

    Raises:
        InvalidInput: missing, unparseable or without an offset.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: an ISO 8601 time with an offset")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{field}: {value!r} has no UTC offset")
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PlayEntry:
    log_id: str
    item_id: str
    manifest_hash: str
    started_at: datetime
    ended_at: datetime | None
    completed: bool
    trigger: PlayTrigger


PLAYLOG_MAX_AGE = timedelta(days=31)  # a device offline longer than this has lost its logs' value
REPORT_MAX_AHEAD = timedelta(minutes=10)  # device clocks drift; later than this is not a report of the past


def check_window(value: datetime, now: datetime, field: str) -> datetime:
    """A time a device reports must lie in the past month (up to a few minutes ahead for clock drift).

    Raises:
        InvalidInput: naming the field, for a time outside the window (9999-12-31, 1970...).
    """
    if not now - PLAYLOG_MAX_AGE <= value <= now + REPORT_MAX_AHEAD:
        raise InvalidInput(f"{field}: {value.isoformat()} is outside the accepted window "
                           f"(the last {PLAYLOG_MAX_AGE.days} days up to now)")
    return value


def parse_playlogs(body: Any, *, now: datetime | None = None) -> list[PlayEntry]:
    """Check a ``POST /playlogs`` body (at most :data:`MAX_PLAYLOG_BATCH` entries).

    With ``now``, every time must fall within :func:`check_window`.

    Raises:
        InvalidInput: naming the first bad entry and field.
    """
    entries = body.get("entries") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise InvalidInput("entries: a list of play log entries")
    if len(entries) > MAX_PLAYLOG_BATCH:
        raise InvalidInput(f"entries: at most {MAX_PLAYLOG_BATCH} per batch, got {len(entries)}")
    out = []
    for n, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise InvalidInput(f"entries[{n}]: an object")
        try:
            log_id = str(uuid.UUID(str(raw.get("log_id"))))
        except ValueError:
            raise InvalidInput(f"entries[{n}].log_id: a UUID") from None
        item_id = str(raw.get("item_id") or "")
        if not _TEXT_ID.match(item_id):
            raise InvalidInput(f"entries[{n}].item_id: 1-128 characters of letters, digits and . _ : -")
        manifest_hash = str(raw.get("manifest_hash") or "")
        if not is_sha256(manifest_hash):
            raise InvalidInput(f"entries[{n}].manifest_hash: a SHA-256 hex digest")
        started = parse_time(raw.get("started_at"), f"entries[{n}].started_at")
        ended = parse_time(raw["ended_at"], f"entries[{n}].ended_at") if raw.get("ended_at") is not None else None
        if ended is not None and ended < started:
            raise InvalidInput(f"entries[{n}]: ended_at before started_at")
        if now is not None:
            check_window(started, now, f"entries[{n}].started_at")
            if ended is not None:
                check_window(ended, now, f"entries[{n}].ended_at")
        if not isinstance(raw.get("completed"), bool):
            raise InvalidInput(f"entries[{n}].completed: true or false")
        try:
            trigger = PlayTrigger(str(raw.get("trigger")))
        except ValueError:
            raise InvalidInput(f"entries[{n}].trigger: schedule, emergency or default") from None
        out.append(PlayEntry(log_id, item_id, manifest_hash, started, ended, raw["completed"], trigger))
    return out


@dataclass(frozen=True, slots=True)
class Inventory:
    files: tuple[str, ...]
    free_bytes: int | None
    playing: str | None
    agent_version: str


def parse_inventory(body: Any) -> Inventory:
    """Check a ``PUT /inventory`` body.

    Raises:
        InvalidInput: naming the bad field.
    """
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    files = body.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) and is_sha256(f) for f in files):
        raise InvalidInput("files: a list of SHA-256 hex digests")
    if len(files) > 100_000:
        raise InvalidInput("files: too many entries")
    free = body.get("free_bytes")
    if free is not None and (not isinstance(free, int) or isinstance(free, bool) or free < 0):
        raise InvalidInput("free_bytes: a non-negative integer")
    playing = body.get("playing")
    if playing is not None and (not isinstance(playing, str) or len(playing) > 128):
        raise InvalidInput("playing: an item id or null")
    version = str(body.get("agent_version") or "")[:64]
    return Inventory(tuple(sorted(set(files))), free, playing, version)


@dataclass(frozen=True, slots=True)
class Ack:
    manifest_hash: str
    item_id: str
    received_at: datetime
    channel: str


def parse_ack(body: Any, *, now: datetime | None = None) -> Ack:
    """Check a ``POST /ack`` body (with ``now``: its time within :func:`check_window`).

    Raises:
        InvalidInput: naming the bad field.
    """
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    manifest_hash = str(body.get("manifest_hash") or "")
    if not is_sha256(manifest_hash):
        raise InvalidInput("manifest_hash: a SHA-256 hex digest")
    item_id = str(body.get("item_id") or "")
    if not _TEXT_ID.match(item_id):
        raise InvalidInput("item_id: 1-128 characters of letters, digits and . _ : -")
    channel = str(body.get("channel") or "")
    if channel not in ("mqtt", "poll"):
        raise InvalidInput("channel: 'mqtt' or 'poll'")
    received = parse_time(body.get("received_at"), "received_at")
    if now is not None:
        check_window(received, now, "received_at")
    return Ack(manifest_hash, item_id, received, channel)


def emergency_expiry(expires_at: datetime | None, published_at: datetime, default: timedelta) -> datetime:
    """When an emergency stops: its own expiry, else a default lifetime from publication."""
    return expires_at if expires_at is not None else published_at + default
