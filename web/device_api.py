"""The device API (``/device/v1``, docs/device-protocol.md): registration, keys, schedule, files, reports.

Answers are JSON (errors ``{"error": ...}``) with the protocol's status codes: 401 for a missing or bad
device signature, 403 for a device that is not authorised, 409 for a hardware id known with another key,
422 for a malformed body. Handlers read the raw body (it is signed) and do their database work in the
thread pool, except the ETag check of a cached schedule, which answers 304 without leaving the event loop.
"""

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.devices import etag_matches, is_sha256, parse_registration
from domain.errors import DomainError, InvalidInput, NotFound
from services import device_schedule, signing
from services import devices as device_service
from services.runtime import object_store, session
from storage.objects import LocalObjectStore
from web.app import http_status
from web.security import client_address

router = APIRouter(prefix="/device/v1", tags=["devices"])
T = TypeVar("T")
MAX_BODY = 2 * 1024 * 1024

def _error(exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=http_status(exc))


async def _guarded(fn: Callable[[], T]) -> T | JSONResponse:
    try:
        return await run_in_threadpool(fn)
    except DomainError as exc:
        return _error(exc)


def _signed_path(request: Request) -> str:
    """The path and query exactly as the device sent them (what it signed)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return raw.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidInput(f"body larger than {MAX_BODY} bytes")
    return body


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise InvalidInput("the body is not JSON") from None


def _base_url(request: Request) -> str:
    configured: str = request.app.state.settings.public_base_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def _auth(request: Request, body: bytes) -> Callable[[Any], device_service.DeviceAuth]:
    path = _signed_path(request)

    def check(s: Any) -> device_service.DeviceAuth:
        return device_service.authenticate(s, headers=request.headers, method=request.method, path_with_query=path,
                                           body=body)
    return check


@router.post("/register", status_code=202)
async def register(request: Request) -> Response:
    """Unsigned: a device announces its hardware id and public key; an admin authorises it later.

    Rate-limited per client address and overall (``BANTIN_DEVICE_REGISTRATIONS_PER_HOUR``): 429 beyond.
    """
    state = request.app.state
    peer = request.client.host if request.client else "-"
    client = client_address(peer, request.headers.get("x-forwarded-for"), state.trusted_proxies)
    if not (state.registrations.allow(client) and state.registrations_all.allow("*")):
        return JSONResponse({"error": "too many registrations; try again later"}, status_code=429,
                            headers={"Retry-After": "600"})
    try:
        reg = parse_registration(_json(await _body(request)))
    except DomainError as exc:
        return _error(exc)

    def work() -> JSONResponse:
        with session() as s:
            device, _ = device_service.register(s, reg)
            return JSONResponse({"device_id": device.id, "status": device.status}, status_code=202)
    return await _guarded(work)


@router.get("/keys")
async def keys() -> Response:
    """Unsigned: the installation's public keys, each endorsed by the one before it."""
    return JSONResponse(signing.keys_document())  # cached in memory; re-read only when the key index changes


def _hours(request: Request) -> int:
    raw = request.query_params.get("hours")
    if raw is None:
        return int(request.app.state.settings.device_lookahead_hours)
    if not raw.isdigit() or not 1 <= int(raw) <= 168:
        raise InvalidInput("hours: an integer from 1 to 168")
    return int(raw)


def _schedule_response(etag: str, signed: bytes | None, if_none_match: str | None) -> Response | None:
    headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if signed is not None:
        return Response(signed, media_type="application/json", headers=headers)
    return None


@router.get("/schedule")
async def schedule(request: Request) -> Response:
    """The device's signed schedule; 304 when ``If-None-Match`` names the current one.

    The common case (a device polling a schedule this node built a moment ago) is answered from memory
    on the event loop: one signature check, one dictionary lookup. Everything else goes to the thread pool.
    """
    try:
        hours = _hours(request)
        path, base = _signed_path(request), _base_url(request)
        device = device_service.authenticate_cached(headers=request.headers, method="GET", path_with_query=path,
                                                    body=b"")
    except DomainError as exc:
        return _error(exc)
    if_none_match = request.headers.get("if-none-match")
    if device is not None:
        hit = device_schedule.cached(device, hours, base)
        if hit is not None:
            fast = _schedule_response(hit[0], hit[1], if_none_match)
            if fast is not None:
                return fast
    check = _auth(request, b"")

    def work() -> Response:
        with session() as s:
            device = check(s)
            etag, _ = device_schedule.device_etag(s, device, hours, base)
            if etag_matches(if_none_match, etag):
                return _schedule_response(etag, None, if_none_match) or Response(status_code=304)
            etag, signed = device_schedule.signed_schedule(s, device, hours, base)
        return _schedule_response(etag, signed, None) or Response(status_code=500)
    return await _guarded(work)


@router.get("/files/{sha256}")
async def file(request: Request, sha256: str) -> Response:
    """A file's bytes from the local store (``Range: bytes=N-`` resumes a download with 206)."""
    if not is_sha256(sha256):
        return _error(NotFound("no such file"))
    check = _auth(request, b"")

    def work() -> Response:
        with session() as s:
            check(s)
            rec = device_schedule.file_for_device(s, sha256)
            key, media_type = rec.key, rec.media_type
        store = object_store()
        if not isinstance(store, LocalObjectStore):
            raise NotFound("files are served by the object store's presigned URLs")
        path = store.root / key
        if not path.is_file():
            raise NotFound(f"file {sha256[:12]}… is missing from the store")
        return FileResponse(path, media_type=media_type or "application/octet-stream",
                            headers={"Cache-Control": "private, max-age=86400", "ETag": f'"{sha256}"'})
    return await _guarded(work)


def _no_content(_: Any) -> Response:
    return Response(status_code=204)


async def _report(request: Request, handle: Callable[[Any, device_service.DeviceAuth, Any], T],
                  answer: Callable[[T], Response]) -> Response:
    """A signed JSON report: read the body, authenticate the device on it, ``handle(session, device, data)`` in
    the thread pool in one transaction, and ``answer`` with what it returned."""
    try:
        body = await _body(request)
    except DomainError as exc:
        return _error(exc)
    check = _auth(request, body)

    def work() -> Response:
        with session() as s:
            result = handle(s, check(s), _json(body))
        return answer(result)
    return await _guarded(work)


@router.put("/inventory", status_code=204)
async def inventory(request: Request) -> Response:
    """The files the device holds, its free space and what it is playing."""
    return await _report(request, device_service.report_inventory, _no_content)


@router.post("/playlogs")
async def playlogs(request: Request) -> Response:
    """A batch of play log entries (a re-sent ``log_id`` counts once)."""
    return await _report(request, device_service.upload_play_logs,
                         lambda counts: JSONResponse({"accepted": counts[0], "duplicates": counts[1]}))


@router.post("/ack", status_code=204)
async def ack(request: Request) -> Response:
    """The device confirms an emergency reached it."""
    return await _report(request, device_service.acknowledge, _no_content)
