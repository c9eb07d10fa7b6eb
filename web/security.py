"""Session secret, CSRF tokens, login throttling and client addresses for the web app (sessions and API
tokens themselves live in ``services.credentials``)."""

import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path


def load_secret(home: Path, configured: str = "") -> str:
    """The configured secret, or one generated once and kept in ``<home>/secret_key`` (mode 0600), so
    sessions survive restarts without anyone having to invent a secret."""
    if configured:
        return configured
    path = home / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    home.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret)
    return secret


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


class LoginThrottle:
    """At most ``limit`` failed logins per (username, client) within ``window`` seconds.

    Kept in process memory: enough for one app process; several processes each keep their own count.
    """

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, username: str, client: str) -> bool:
        with self._lock:
            return len(self._recent((username.lower(), client), time.monotonic())) >= self.limit

    def failed(self, username: str, client: str) -> None:
        with self._lock:
            self._recent((username.lower(), client), time.monotonic()).append(time.monotonic())

    def succeeded(self, username: str, client: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), client), None)


class RateLimit:
    """At most ``limit`` events per key within a sliding ``window`` of seconds; ``clock`` is injectable.

    Kept in process memory, like :class:`LoginThrottle`.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, *keys: str) -> bool:
        """Count one event against every key, unless one of them is already at its limit (then nothing is
        counted and the answer is False)."""
        now = self.clock()
        with self._lock:
            queues = [self._events.setdefault(k, deque()) for k in keys]
            for q in queues:
                while q and now - q[0] >= self.window:
                    q.popleft()
            if any(len(q) >= self.limit for q in queues):
                return False
            for q in queues:
                q.append(now)
            return True


def parse_proxies(spec: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """``BANTIN_TRUSTED_PROXIES``: comma-separated addresses or networks (``10.0.0.5, 192.168.1.0/24``).

    Raises:
        ValueError: an entry that is not an address or a network.
    """
    return tuple(ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _trusted(address: str, proxies: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: tuple[IPv4Network | IPv6Network, ...]) -> str:
    """The address a request came from, for rate limits.

    ``X-Forwarded-For`` is honoured only when the connection comes from a configured proxy, and then read
    from the right: the first address that is not itself a trusted proxy is the client (anything to its left
    was written by the client and proves nothing). With no proxies configured the header is ignored.
    """
    if not forwarded_for or not _trusted(peer, proxies):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        if not hop:
            break
        if not _trusted(hop, proxies):
            try:
                return str(ip_address(hop))
            except ValueError:
                return peer  # garbage from a proxy's left: fall back to the proxy itself
    return peer
