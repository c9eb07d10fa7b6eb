"""Session secret, CSRF tokens, login throttling and API tokens for the web app."""

import hmac
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

API_TOKEN_SALT = "bantin.api-token.v1"


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


def issue_api_token(secret: str, username: str) -> str:
    """A signed token naming the user; it is checked against the user's current state on every use,
    so disabling the user revokes it."""
    return URLSafeTimedSerializer(secret, salt=API_TOKEN_SALT).dumps({"u": username})


def read_api_token(secret: str, token: str, max_age_days: int) -> str | None:
    try:
        data = URLSafeTimedSerializer(secret, salt=API_TOKEN_SALT).loads(token, max_age=max_age_days * 86400)
    except (BadSignature, SignatureExpired):
        return None
    return data.get("u") if isinstance(data, dict) else None
