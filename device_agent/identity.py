"""The device's identity: its hardware key (Ed25519, made on first start, kept 0600) and what the server said.

Files in the state directory:
``device.key`` raw 32-byte private key (mode 0600); ``identity.json`` ``{"hardware_id", "device_id",
"status"}``. The hardware id is given by the operator or generated once (a random UUID), never derived from
the network, so a box moved to another network keeps its identity.

An unreadable state file (disk corruption, a hand edit) is renamed ``<name>.corrupt-<time>`` and the agent
starts without it: a box that keeps playing its cached schedule is better than one restarted for ever by
systemd. A lost key means a new one, which the server refuses (409) until an admin revokes the device; the
box then registers again with the new key and waits for authorisation.
"""

import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from domain.signatures import SignatureInvalid, SigningKey, b64, generate_key, key_from_private

log = logging.getLogger(__name__)

KEY_FILE = "device.key"
IDENTITY_FILE = "identity.json"


@dataclass
class Identity:
    """Who this device is: key pair, hardware id, and the server-assigned id once registered."""

    key: SigningKey
    hardware_id: str
    device_id: int | None = None
    status: str = "unregistered"

    @property
    def public_key_b64(self) -> str:
        return b64(self.key.public)


_WRITE_LOCK = threading.Lock()


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably, readable by the owner only.

    The bytes are fsynced before the rename and the directory after it, so a power cut leaves either the old
    or the new file, never an empty or half-written one, and a rename that was reported done stays done. The
    lock serialises writers (poll, MQTT and playout threads) that would otherwise share the ``.tmp`` name.
    """
    tmp = path.with_name(path.name + ".tmp")
    with _WRITE_LOCK:
        tmp.unlink(missing_ok=True)  # a leftover (or planted symlink) from an interrupted write
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (some file systems lose it on power loss otherwise)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def set_aside(path: Path, why: object) -> Path:
    """Rename an unreadable state file to ``<name>.corrupt-<UTC time>`` (kept for an inquiry) and log why."""
    target = path.with_name(f"{path.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
    os.replace(path, target)
    fsync_dir(path.parent)
    log.error("%s is unreadable (%s); moved to %s and starting without it", path, why, target.name)
    return target


def _read_key(key_path: Path) -> SigningKey | None:
    if not key_path.exists():
        return None
    if key_path.stat().st_mode & 0o077:
        os.chmod(key_path, 0o600)
    try:
        return key_from_private(key_path.read_bytes())
    except (SignatureInvalid, ValueError) as exc:
        set_aside(key_path, exc)
        log.error("a new device key is made: the server answers 409 until an admin revokes this device "
                  "('bantin devices revoke'); it then registers again with the new key, pending authorisation")
        return None


def _read_info(info_path: Path) -> dict[str, object]:
    if not info_path.exists():
        return {}
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
        return info
    except (ValueError, UnicodeDecodeError) as exc:
        set_aside(info_path, exc)
        return {}


def load_identity(state_dir: Path, hardware_id: str | None = None) -> Identity:
    """Load the identity from ``state_dir``, creating the key and hardware id on first start.

    Raises:
        ValueError: the stored hardware id differs from the one configured (a state directory copied to
            another box must not impersonate it).
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    key_path = state_dir / KEY_FILE
    key = _read_key(key_path)
    if key is None:
        key = generate_key()
        write_private(key_path, key.private)
    info = _read_info(state_dir / IDENTITY_FILE)
    stored = info.get("hardware_id") if isinstance(info.get("hardware_id"), str) else None
    if stored and hardware_id and stored != hardware_id:
        raise ValueError(f"state dir {state_dir} belongs to hardware id {stored!r}, not {hardware_id!r}")
    device_id, status = info.get("device_id"), info.get("status")
    ident = Identity(key=key, hardware_id=str(stored or hardware_id or f"bantin-{uuid.uuid4()}"),
                     device_id=device_id if isinstance(device_id, int) else None,
                     status=status if isinstance(status, str) else "unregistered")
    save_identity(state_dir, ident)
    return ident


def save_identity(state_dir: Path, ident: Identity) -> None:
    """Persist the hardware id and what the server assigned."""
    data = {"hardware_id": ident.hardware_id, "device_id": ident.device_id, "status": ident.status}
    write_private(state_dir / IDENTITY_FILE, json.dumps(data, indent=1).encode("utf-8"))
