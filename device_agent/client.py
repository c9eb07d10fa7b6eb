"""HTTP side of the device protocol (docs/device-protocol.md §1-2): signed requests, ETag polling, downloads.

Every request after registration is signed with the hardware key over
``METHOD\\nPATH_WITH_QUERY\\nTIMESTAMP\\nhex(sha256(body))``. The request timestamp is the real clock, never
the (possibly sped-up) playout clock. Connection problems raise :class:`Offline`, which the agent treats as
"keep playing what is cached".
"""

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from device_agent import __version__
from device_agent.identity import Identity
from domain.canonical import canonical_json
from domain.signatures import sign_bytes

PREFIX = "/device/v1"
# A schedule of 168 h for a busy commune is some 100 KiB; anything near this limit is a broken or hostile server,
# and reading it whole would exhaust a small box's memory.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# httpx's timeout bounds each read, not the whole answer: a server trickling a byte every few seconds would
# hold the poll thread (and with it withdrawals and emergencies by poll) for ever without this.
ANSWER_DEADLINE_S = 120.0


class ProtocolError(Exception):
    """The server answered something the protocol does not allow."""


class Offline(ProtocolError):
    """The server cannot be reached (network down, server stopped, 5xx)."""


class NotAuthorised(ProtocolError):
    """403: the device is registered but not (or no longer) authorised by an administrator."""


class Unauthenticated(ProtocolError):
    """401: the server does not accept our signature (clock skew, unknown device, wrong key)."""


class Rejected(ProtocolError):
    """400/422: the server refuses the content of the request (re-sending it unchanged will not help)."""


class Conflict(ProtocolError):
    """409: the hardware id is registered with another key."""


@dataclass(frozen=True)
class ScheduleAnswer:
    """A poll's outcome: ``document`` is None when the server answered 304 Not Modified."""

    document: dict[str, Any] | None
    etag: str | None


def _body_bytes(payload: Any) -> bytes:
    return b"" if payload is None else canonical_json(payload)


class DeviceClient:
    """Talks to one bantin server as one device."""

    def __init__(self, server: str, identity: Identity, timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.server = server.rstrip("/")
        self.identity = identity
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  headers={"User-Agent": f"bantin-device/{__version__}"})

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def url(self, path: str) -> str:
        """The absolute URL of a protocol path such as ``/schedule``."""
        return f"{self.server}{PREFIX}{path}"

    def is_own(self, url: str) -> bool:
        """Whether ``url`` points at our server (so the request must be signed)."""
        a, b = urlsplit(url), urlsplit(self.server)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def signed_headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        """The three ``X-Bantin-*`` headers for a request to ``url`` with ``body``."""
        if self.identity.device_id is None:
            raise ProtocolError("the device is not registered yet")
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        ts = str(int(time.time()))
        message = f"{method.upper()}\n{path}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
        return {
            "X-Bantin-Device": str(self.identity.device_id),
            "X-Bantin-Timestamp": ts,
            "X-Bantin-Signature": sign_bytes(self.identity.key, message),
        }

    def _request(self, method: str, url: str, payload: Any = None, headers: dict[str, str] | None = None,
                 signed: bool = True) -> httpx.Response:
        body = _body_bytes(payload)
        h = dict(headers or {})
        if payload is not None:
            h["Content-Type"] = "application/json"
        if signed:
            h.update(self.signed_headers(method, url, body))
        try:
            with self._http.stream(method, url, content=body if payload is not None else None, headers=h) as resp:
                _read_bounded(resp)
        except httpx.HTTPError as exc:
            raise Offline(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
        _raise_for(resp)
        return resp

    def register(self, name: str, area_code: str, kind: str) -> tuple[int, str]:
        """``POST /register``; returns (device id, status). Idempotent for the same hardware id and key."""
        payload = {"hardware_id": self.identity.hardware_id, "public_key": self.identity.public_key_b64,
                   "name": name, "area_code": area_code, "kind": kind}
        resp = self._request("POST", self.url("/register"), payload, signed=False)
        data = _json(resp)
        try:
            return int(data["device_id"]), str(data.get("status", "pending"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"register: unexpected answer {data!r}") from exc

    def keys(self) -> list[dict[str, Any]]:
        """``GET /keys`` (unsigned): the installation's keys with endorsements."""
        data = _json(self._request("GET", self.url("/keys"), signed=False))
        keys = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(keys, list):
            raise ProtocolError("keys: no 'keys' list")
        return [k for k in keys if isinstance(k, dict)]

    def schedule(self, etag: str | None, hours: int) -> ScheduleAnswer:
        """``GET /schedule`` with ``If-None-Match``; 304 gives ``document=None``."""
        headers = {"If-None-Match": etag} if etag else {}
        resp = self._request("GET", self.url(f"/schedule?hours={hours}"), headers=headers)
        if resp.status_code == 304:
            return ScheduleAnswer(None, etag)
        doc = _json(resp)
        if not isinstance(doc, dict):
            raise ProtocolError("schedule: not a JSON object")
        return ScheduleAnswer(doc, resp.headers.get("ETag") or doc.get("etag"))

    @contextmanager
    def download(self, url: str, offset: int) -> Iterator[httpx.Response]:
        """Stream ``url`` from byte ``offset`` (``Range: bytes=N-``); the caller checks 200 vs 206."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        if self.is_own(url):
            headers.update(self.signed_headers("GET", url, b""))
        try:
            with self._http.stream("GET", url, headers=headers) as resp:
                if resp.status_code == 416:  # our partial file is already complete (or too long)
                    yield resp
                    return
                _raise_for(resp)
                yield resp
        except httpx.HTTPError as exc:
            raise Offline(f"GET {url}: {exc.__class__.__name__}: {exc}") from exc

    def inventory(self, files: list[str], free_bytes: int, playing: str | None,
                  health: dict[str, Any] | None = None) -> None:
        """``PUT /inventory`` (with the optional ``health`` member when the box knows any of it)."""
        body = {"files": files, "free_bytes": free_bytes, "playing": playing, "agent_version": __version__}
        self._request("PUT", self.url("/inventory"), {**body, "health": health} if health else body)

    def playlogs(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """``POST /playlogs`` with at most 500 entries; returns ``{"accepted", "duplicates"}``."""
        if len(entries) > 500:
            raise ValueError("at most 500 play-log entries per batch")
        return _json(self._request("POST", self.url("/playlogs"), {"entries": entries}))

    def ack(self, manifest_hash: str, item_id: str, received_at: str, channel: str) -> None:
        """``POST /ack``: an emergency reached this device."""
        self._request("POST", self.url("/ack"), {"manifest_hash": manifest_hash, "item_id": item_id,
                                                 "received_at": received_at, "channel": channel})


def _read_bounded(resp: httpx.Response) -> None:
    """Read an answer into ``resp`` (so ``.json()`` works), refusing more than ``MAX_ANSWER_BYTES`` or one that
    takes longer than ``ANSWER_DEADLINE_S`` seconds.

    Raises:
        ProtocolError: the answer is too large.
        Offline: the answer is too slow.
    """
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise ProtocolError(f"{resp.request.method} {resp.request.url.path}: answer too large ({declared} bytes)")
    deadline = time.monotonic() + ANSWER_DEADLINE_S
    chunks, size = [], 0
    for chunk in resp.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ProtocolError(f"{resp.request.method} {resp.request.url.path}: answer too large "
                                f"(more than {MAX_ANSWER_BYTES} bytes)")
        if time.monotonic() > deadline:
            raise Offline(f"{resp.request.method} {resp.request.url.path}: answer slower than {ANSWER_DEADLINE_S} s")
        chunks.append(chunk)
    resp._content = b"".join(chunks)  # what Response.read() sets; later .json()/.text use it


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{resp.request.method} {resp.request.url}: answer is not JSON") from exc


def _raise_for(resp: httpx.Response) -> None:
    code = resp.status_code
    if code < 400:
        return
    if not resp.is_stream_consumed:
        _read_bounded(resp)
    detail = resp.text[:300]
    where = f"{resp.request.method} {resp.request.url.path}"
    if code == 401:
        raise Unauthenticated(f"{where}: 401 {detail}")
    if code == 403:
        raise NotAuthorised(f"{where}: 403 {detail}")
    if code == 409:
        raise Conflict(f"{where}: 409 {detail}")
    if code >= 500 or code == 429:
        raise Offline(f"{where}: {code} {detail}")
    if code in (400, 422):
        raise Rejected(f"{where}: {code} {detail}")
    raise ProtocolError(f"{where}: {code} {detail}")
