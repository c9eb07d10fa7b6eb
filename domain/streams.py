"""Streams devices pull from the installation's Icecast server: mount names and signed listen URLs (pure).

Every area has one mount, ``/area-<code>.mp3``. A device listens with a URL that carries a token
``<device id>.<expiry, unix seconds>.<HMAC-SHA256, 32 hex>`` over the mount, the device id and the expiry,
keyed with the installation's listen secret. Icecast asks bantin about every listener (URL authentication,
``listener_add``); bantin answers yes only for a token that verifies, names this mount and has not expired.
The token is deterministic: the same device, mount and expiry give the same URL, so a schedule that carries
it keeps its ETag between polls.
"""

import hmac
import re
from dataclasses import dataclass
from enum import StrEnum
from hashlib import sha256
from urllib.parse import parse_qs, urlsplit

MOUNT = re.compile(r"^/area-([0-9A-Za-z_-]{1,32})\.mp3\Z")
TOKEN = re.compile(r"^(\d{1,12})\.(\d{1,12})\.([0-9a-f]{32})\Z")


class LiveStatus(StrEnum):
    """A live session is on the air (``live``) until the officer, its deadline or the sweeper ends it."""

    LIVE = "live"
    ENDED = "ended"


class TokenRefused(Exception):
    """A listen token that does not verify; the message says why (for the log, not for listeners)."""


@dataclass(frozen=True)
class Listener:
    """Who a verified token lets in: a device, on one mount, until ``expires`` (unix seconds)."""

    device_id: int
    mount: str
    expires: int


def area_mount(area_code: str) -> str:
    """The mount point of an area: ``/area-<code>.mp3``.

    Raises:
        ValueError: a code that cannot be part of a mount name.
    """
    mount = f"/area-{area_code}.mp3"
    if not MOUNT.match(mount):
        raise ValueError(f"area code {area_code!r} cannot name a mount")
    return mount


def mount_area(mount: str) -> str | None:
    """The area code of a mount name (None for a mount that is not an area's)."""
    found = MOUNT.match(mount)
    return found.group(1) if found else None


def _mac(secret: bytes, mount: str, device_id: int, expires: int) -> str:
    return hmac.new(secret, f"{mount}|{device_id}|{expires}".encode(), sha256).hexdigest()[:32]


def listen_token(secret: bytes, mount: str, device_id: int, expires: int) -> str:
    """The token that lets ``device_id`` listen to ``mount`` until ``expires`` (unix seconds)."""
    return f"{device_id}.{expires}.{_mac(secret, mount, device_id, expires)}"


def listen_url(base_url: str, secret: bytes, mount: str, device_id: int, expires: int) -> str:
    """The URL a device plays: the Icecast base URL, the mount and the token."""
    return f"{base_url.rstrip('/')}{mount}?t={listen_token(secret, mount, device_id, expires)}"


def verify_listener(secret: bytes, requested: str, now: float) -> Listener:
    """Check what Icecast reports a listener asked for (``mount`` of ``listener_add``: path and query).

    Raises:
        TokenRefused: no token, a malformed or forged one, another mount's, or an expired one.
    """
    parts = urlsplit(requested)
    mount = parts.path
    if not MOUNT.match(mount):
        raise TokenRefused(f"not an area mount: {mount[:60]!r}")
    tokens = parse_qs(parts.query).get("t", [])
    if len(tokens) != 1:
        raise TokenRefused("no listen token")
    found = TOKEN.match(tokens[0])
    if not found:
        raise TokenRefused("malformed listen token")
    device_id, expires, mac = int(found.group(1)), int(found.group(2)), found.group(3)
    if not hmac.compare_digest(mac, _mac(secret, mount, device_id, expires)):
        raise TokenRefused("listen token does not verify for this mount")
    if expires <= now:
        raise TokenRefused(f"listen token expired {int(now - expires)} s ago")
    return Listener(device_id, mount, expires)
