"""Verified schedules: check the signature and every file reference before use, keep the last good one on disk.

A schedule (``bantin.schedule/1``) is used only after :func:`verify_schedule` accepted it: signed by a
trusted installation key, for this device, and with only safe file names. A refused schedule never
replaces the last verified one, so a device fed something bad keeps playing what it had.
"""

import json
import logging
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from device_agent.cache import check_ref
from device_agent.identity import set_aside, write_private
from domain.canonical import canonical_json, sha256_hex
from domain.schedules import EMERGENCY_SCHEMA, SCHEDULE_SCHEMA
from domain.signatures import SignatureInvalid, verify_document

log = logging.getLogger(__name__)

SCHEDULE_FILE = "schedule.json"
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\Z")


class ScheduleRefused(Exception):
    """A schedule or emergency message failed verification; the message says why."""


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 with an offset to an aware datetime; None stays None.

    Raises:
        ScheduleRefused: not a time with an offset.
    """
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ScheduleRefused(f"bad time {value!r}") from exc
    if t.tzinfo is None:
        raise ScheduleRefused(f"time without offset {value!r}")
    return t


def item_files(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The file references of one item (audio first, then slides)."""
    refs = [item["audio"]] if item.get("audio") else []
    return refs + list(item.get("slides") or [])


def check_item(item: Any) -> dict[str, Any]:
    """Validate one schedule item's shape, times and file references.

    Raises:
        ScheduleRefused: a required member is missing or a file reference is unsafe.
    """
    if not isinstance(item, dict):
        raise ScheduleRefused("an item is not an object")
    for member in ("item_id", "manifest_hash", "kind", "priority"):
        if not isinstance(item.get(member), str) or not item[member]:
            raise ScheduleRefused(f"item without {member}: {item.get('item_id')!r}")
    parse_time(item.get("starts_at"))
    parse_time(item.get("expires_at"))
    repeat = item.get("repeat_every_s")
    if repeat is not None and (not isinstance(repeat, int) or repeat <= 0):
        raise ScheduleRefused(f"item {item['item_id']}: bad repeat_every_s {repeat!r}")
    if not isinstance(item.get("slides") or [], list):
        raise ScheduleRefused(f"item {item['item_id']}: slides is not a list")
    if item["kind"] == "stream":
        stream = item.get("stream")
        url = stream.get("url") if isinstance(stream, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
            raise ScheduleRefused(f"item {item['item_id']}: a stream needs an http(s) url")
        if item.get("starts_at") is None or item.get("expires_at") is None:
            raise ScheduleRefused(f"item {item['item_id']}: a stream needs starts_at and expires_at")
    try:
        for ref in item_files(item):
            check_ref(ref)
    except Exception as exc:  # UnsafeFile and shape errors: one clear refusal
        raise ScheduleRefused(f"item {item['item_id']}: {exc}") from exc
    return item


def _check_shape(doc: dict[str, Any]) -> None:
    """Refuse the members the planner reads on every decision when they are malformed.

    A validly signed schedule can still be wrong (a server bug); kept on disk and loaded at every start, it
    would otherwise crash the playout loop again and again instead of being refused once.
    """
    if not all(isinstance(h, str) for h in doc.get("withdrawn", [])):
        raise ScheduleRefused("schedule member withdrawn must list manifest hashes")
    window = doc.get("window", {})
    if not isinstance(window, dict):
        raise ScheduleRefused("schedule member window is not an object")
    parse_time(window.get("from"))
    parse_time(window.get("until"))
    for member in ("quiet_hours", "volume_profile"):
        for entry in doc.get(member, []):
            if not (isinstance(entry, dict) and all(isinstance(entry.get(k), str) and HHMM.match(entry[k])
                                                    for k in ("from", "to"))):
                raise ScheduleRefused(f"schedule member {member}: {entry!r} is not {{from: HH:MM, to: HH:MM}}")
            percent = entry.get("percent", 0)
            if member == "volume_profile" and (not isinstance(percent, int) or isinstance(percent, bool)):
                raise ScheduleRefused(f"schedule member volume_profile: bad percent {percent!r}")


def verify_schedule(doc: Any, trusted: dict[str, bytes], device_id: int | None) -> dict[str, Any]:
    """Accept a schedule only if it is signed by a trusted key, addressed to us and safe.

    Raises:
        ScheduleRefused: with the reason (bad signature, other device, unsafe file name...).
    """
    if not isinstance(doc, dict):
        raise ScheduleRefused("schedule is not a JSON object")
    try:
        verify_document(doc, trusted)
    except SignatureInvalid as exc:
        raise ScheduleRefused(f"schedule signature refused: {exc}") from exc
    if doc.get("schema") != SCHEDULE_SCHEMA:
        raise ScheduleRefused(f"unknown schedule schema {doc.get('schema')!r}")
    if device_id is not None and doc.get("device_id") != device_id:
        raise ScheduleRefused(f"schedule is for device {doc.get('device_id')!r}, not {device_id}")
    for member in ("items", "default_content", "withdrawn", "quiet_hours", "volume_profile"):
        if not isinstance(doc.get(member, []), list):
            raise ScheduleRefused(f"schedule member {member} is not a list")
    for item in list(doc.get("items", [])) + list(doc.get("default_content", [])):
        check_item(item)
    _check_shape(doc)
    body = {k: v for k, v in doc.items() if k not in ("etag", "signature", "generated_at")}
    if doc.get("etag") and sha256_hex(canonical_json(body)) != doc["etag"]:
        log.warning("schedule etag does not match its content (signature is valid; using it)")
    return doc


def verify_emergency(doc: Any, trusted: dict[str, bytes]) -> dict[str, Any]:
    """Accept a ``bantin.emergency/1`` message only if signed by a trusted key and well formed.

    Raises:
        ScheduleRefused: with the reason.
    """
    if not isinstance(doc, dict):
        raise ScheduleRefused("emergency message is not a JSON object")
    try:
        verify_document(doc, trusted)
    except SignatureInvalid as exc:
        raise ScheduleRefused(f"emergency signature refused: {exc}") from exc
    if doc.get("schema") != EMERGENCY_SCHEMA:
        raise ScheduleRefused(f"unknown emergency schema {doc.get('schema')!r}")
    if doc.get("action") not in ("play", "stop"):
        raise ScheduleRefused(f"unknown emergency action {doc.get('action')!r}")
    parse_time(doc.get("issued_at"))
    check_item(doc.get("item"))
    extra = doc.get("items", [])
    if not isinstance(extra, list):
        raise ScheduleRefused("emergency items is not a list")
    for item in extra:
        check_item(item)
    return doc


def emergency_items(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a verified emergency message: ``items`` (one per language the area hears) or ``item``."""
    items = [i for i in doc.get("items") or [] if isinstance(i, dict)]
    return items or [doc["item"]]


def referenced_names(doc: dict[str, Any], extra_items: Iterable[dict[str, Any]] = ()) -> set[str]:
    """Every file name the schedule (and live emergencies) still needs."""
    names = set()
    for item in list(doc.get("items", [])) + list(doc.get("default_content", [])) + list(extra_items):
        names.update(ref["name"] for ref in item_files(item))
    return names


class ScheduleStore:
    """The last verified schedule and its ETag, kept in the state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / SCHEDULE_FILE

    def save(self, doc: dict[str, Any], etag: str | None) -> None:
        write_private(self.path, json.dumps({"etag": etag, "schedule": doc}, ensure_ascii=False).encode("utf-8"))

    def load(self, trusted: dict[str, bytes], device_id: int | None) -> tuple[dict[str, Any] | None, str | None]:
        """The stored schedule, verified again (a file edited on disk is refused like a tampered download)."""
        if not self.path.exists():
            return None, None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return verify_schedule(data["schedule"], trusted, device_id), data.get("etag")
        except (ScheduleRefused, ValueError, KeyError, TypeError) as exc:
            set_aside(self.path, f"stored schedule refused: {exc}; waiting for a fresh one")
            return None, None
