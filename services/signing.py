"""The installation's Ed25519 signing keys: created on first use, rotated with a grace period.

Keys live as files under ``<home>/keys`` so every web node and worker sharing the home signs with the same
key, and a database dump never carries a private key:

* ``index.json``: the keys, oldest first: ``key_id``, ``public_key`` (base64), ``created_at``,
  ``not_after`` (null while current; set on rotation to now + the grace period) and ``endorsement`` (the new
  key's public half signed by the key it replaced; null for the first key);
* ``<key_id>.key``: the raw private key, base64, mode 0600; deleted once the key is past ``not_after``.

The newest key signs. ``GET /device/v1/keys`` lists every key not yet past ``not_after``, so a device that
trusts only the old key verifies the endorsement and learns the new one during the grace period.
"""

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.devices import KEY_SCHEMA, iso
from domain.signatures import (
    SigningKey,
    b64,
    generate_key,
    key_from_private,
    sign_document,
    unb64,
    verify_document,
)
from services.caches import CACHES
from settings import get_settings


@dataclass(frozen=True)
class KeyEntry:
    key_id: str
    public_key: bytes
    created_at: datetime
    not_after: datetime | None
    endorsement: dict[str, Any] | None

    def listed(self, now: datetime) -> bool:
        return self.not_after is None or self.not_after > now

    def to_json(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "public_key": b64(self.public_key), "created_at": iso(self.created_at),
                "not_after": iso(self.not_after), "endorsement": self.endorsement}


KeyState = tuple[int, list[KeyEntry], SigningKey]  # index mtime (ns, -1: none yet), key list, current key


def keys_dir() -> Path:
    return get_settings().home / "keys"


@contextmanager
def _file_lock(directory: Path) -> Iterator[None]:
    """One writer at a time across processes (first use and rotation)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (directory / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _read_index(directory: Path) -> list[KeyEntry]:
    path = directory / "index.json"
    if not path.exists():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [KeyEntry(r["key_id"], unb64(r["public_key"]), _parse_time(r["created_at"]) or datetime.now(UTC),
                     _parse_time(r.get("not_after")), r.get("endorsement")) for r in rows]


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_index(directory: Path, entries: list[KeyEntry]) -> None:
    _write_atomic(directory / "index.json", json.dumps([e.to_json() for e in entries], indent=2))


def _new_key(directory: Path, previous: SigningKey | None, now: datetime) -> tuple[SigningKey, KeyEntry]:
    key = generate_key()
    _write_atomic(directory / f"{key.key_id}.key", b64(key.private), mode=0o600)
    endorsement = None
    if previous is not None:
        endorsement = sign_document(previous, {"schema": KEY_SCHEMA, "key_id": key.key_id,
                                               "public_key": b64(key.public), "created_at": iso(now)})
    return key, KeyEntry(key.key_id, key.public, now, None, endorsement)


def _load_private(directory: Path, key_id: str) -> SigningKey:
    return key_from_private(unb64((directory / f"{key_id}.key").read_text(encoding="ascii").strip()))


def _state() -> tuple[list[KeyEntry], SigningKey]:
    """The key list and the current signing key, created on first use; re-read when the index changes."""
    directory = keys_dir()
    index = directory / "index.json"
    try:
        mtime = index.stat().st_mtime_ns
    except FileNotFoundError:
        mtime = -1
    hit = CACHES.signing_keys.get(directory)
    if hit is not None and hit[0] == mtime:
        return hit[1], hit[2]
    with _file_lock(directory):
        entries = _read_index(directory)
        if not entries:
            _, entry = _new_key(directory, None, datetime.now(UTC))
            entries = [entry]
            _write_index(directory, entries)
        current = _load_private(directory, entries[-1].key_id)
        mtime = index.stat().st_mtime_ns
    CACHES.signing_keys.put(directory, (mtime, entries, current))
    return entries, current


def current_key() -> SigningKey:
    """The key that signs now (created on first use)."""
    return _state()[1]


def sign(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its ``signature`` member made by the current key."""
    return sign_document(current_key(), document)


def listed_keys(now: datetime | None = None) -> list[KeyEntry]:
    """Keys still announced (the current one and any within their grace period), oldest first."""
    now = now or datetime.now(UTC)
    return [e for e in _state()[0] if e.listed(now)]


def trusted_keys(now: datetime | None = None) -> dict[str, bytes]:
    """Key id -> public key of every listed key (what a verifier of our own documents trusts)."""
    return {e.key_id: e.public_key for e in listed_keys(now)}


def all_public_keys() -> dict[str, bytes]:
    """Key id -> public key of every key this installation ever had, retired ones included (to check
    documents signed long ago, such as audit checkpoints)."""
    return {e.key_id: e.public_key for e in _state()[0]}


def verify(document: dict[str, Any]) -> str:
    """Verify a document we signed; returns the key id. Raises ``SignatureInvalid``."""
    return verify_document(document, trusted_keys())


def rotate(now: datetime | None = None, grace: timedelta | None = None) -> KeyEntry:
    """Make a new signing key endorsed by the current one; the current one stays listed for the grace
    period (``BANTIN_KEY_GRACE_DAYS``), then is retired and its private half deleted.

    Returns:
        The new key's entry.
    """
    now = now or datetime.now(UTC)
    grace = grace if grace is not None else timedelta(days=get_settings().key_grace_days)
    directory = keys_dir()
    _state()  # make sure a first key exists
    with _file_lock(directory):
        entries = _read_index(directory)
        previous = _load_private(directory, entries[-1].key_id)
        _, entry = _new_key(directory, previous, now)
        entries = [e if e.not_after is not None else
                   KeyEntry(e.key_id, e.public_key, e.created_at, now + grace, e.endorsement) for e in entries]
        entries.append(entry)
        for e in entries:  # retire keys past their grace period: nothing may sign with them again
            if e.not_after is not None and e.not_after <= now:
                (directory / f"{e.key_id}.key").unlink(missing_ok=True)
        _write_index(directory, entries)
    CACHES.signing_keys.pop(directory)
    return entry


def keys_document(now: datetime | None = None) -> dict[str, Any]:
    """The ``GET /device/v1/keys`` answer."""
    return {"keys": [{"key_id": e.key_id, "public_key": b64(e.public_key), "not_after": iso(e.not_after),
                      "endorsement": e.endorsement} for e in listed_keys(now)]}
