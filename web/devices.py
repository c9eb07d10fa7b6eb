"""Routes for devices: the device API (``web.device_api``), device admin pages, the delivery queue with
dead letters and resend, and the public feeds (JSON Feed and RSS) for commune websites and phone apps."""

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from domain.devices import DeviceStatus, is_sha256
from domain.errors import NotFound
from domain.feeds import json_feed, rss_feed
from services import auth
from services import devices as device_service
from services import outbox as outbox_service
from services.areas import area_names
from services.dashboard import stream_titles
from services.feeds import feed_entries, public_file
from services.packages import titles_by_manifest
from services.runtime import object_store, session
from storage.models import UserRecord
from storage.objects import LocalObjectStore
from storage.repositories import devices as device_repo
from web import device_api
from web.access import session_user
from web.app import Forbidden, flash, lang_of, render
from web.i18n import VN_TZ, translate
from web.pages import checked_form

router = APIRouter()
router.include_router(device_api.router)


def _when(value: datetime | None) -> str:
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if value else ""


def _admin_somewhere(request: Request, s: Session) -> UserRecord:
    """The signed-in user, if they administer some area (rows are then filtered to their areas)."""
    user = session_user(request, s)
    if not auth.can_anywhere(s, user, "admin"):
        raise Forbidden("admin")
    return user


@router.get("/devices", include_in_schema=False)
def devices_page(request: Request) -> Response:
    """Devices the admin manages, pending ones first."""
    status = request.query_params.get("status") or None
    with session() as s:
        user = session_user(request, s)
        wanted = DeviceStatus(status) if status in {d.value for d in DeviceStatus} else None
        rows = [device_service.device_row(d) for d in device_service.devices_for(s, user.username, wanted)]
        names = area_names(s, [str(r["area_code"]) for r in rows])
    for r, name in zip(rows, names, strict=True):
        r["seen"], r["area_name"] = _when(r["last_seen_at"]), name
    order = {DeviceStatus.PENDING: 0, DeviceStatus.AUTHORISED: 1, DeviceStatus.REVOKED: 2}
    rows.sort(key=lambda r: (order.get(r["status"], 3), r["id"]))
    return render(request, "devices.html", rows=rows, status=status or "")


@router.get("/devices/{device_id}", include_in_schema=False)
def device_page(request: Request, device_id: int) -> Response:
    """One device: identity, inventory and its play log."""
    with session() as s:
        user = session_user(request, s)
        d = device_service.device_for(s, user.username, device_id)
        row = device_service.device_row(d)
        row["public_key"] = d.public_key
        row["seen"], row["area_name"] = _when(d.last_seen_at), area_names(s, [d.area_code])[0]
        logs = [{"item_id": p.item_id, "manifest_hash": p.manifest_hash, "at": _when(p.started_at),
                 "ended": _when(p.ended_at), "completed": p.completed, "trigger": p.trigger}
                for p in device_repo.play_logs(s, device_id=device_id, limit=200)]
        titles = titles_by_manifest(s, [str(p["manifest_hash"] or "") for p in logs])
        for p in logs:  # the bulletin's title, not its hash
            p.update(titles.get(str(p["manifest_hash"] or ""), {}))
        # live sessions and relay airings are no packages: their title or station's name, not their id
        streams = stream_titles(s, [str(p["item_id"]) for p in logs if not p.get("title")]
                                + [str(row["playing"] or "")])
        for p in logs:
            p["stream_title"] = streams.get(str(p["item_id"]), "")
        row["playing_title"] = streams.get(str(row["playing"] or ""), "")
    return render(request, "devices_show.html", d=row, logs=logs)


async def _set_status(request: Request, device_id: int, authorise: bool) -> Response:
    form = await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        if authorise:
            device_service.authorise(s, device_id, username=user.username)
        else:
            device_service.revoke(s, device_id, username=user.username, reason=form.get("reason", ""))
    flash(request, "info", translate(lang_of(request), "device_authorised" if authorise else "device_revoked"))
    return RedirectResponse(f"/devices/{device_id}", status_code=303)


@router.post("/devices/{device_id}/authorize", include_in_schema=False)
async def device_authorize(request: Request, device_id: int) -> Response:
    return await _set_status(request, device_id, True)


@router.post("/devices/{device_id}/revoke", include_in_schema=False)
async def device_revoke(request: Request, device_id: int) -> Response:
    return await _set_status(request, device_id, False)


@router.get("/deliveries", include_in_schema=False)
def deliveries_page(request: Request) -> Response:
    """The delivery queue (``?dead=1``: dead letters only) with a resend button on dead ones."""
    dead = request.query_params.get("dead") == "1"
    with session() as s:
        user = _admin_somewhere(request, s)
        rows = [{"id": d.id, "package_id": d.package_id, "destination": d.destination, "status": d.status,
                 "attempts": d.attempts, "receipt_id": d.receipt_id, "last_error": d.last_error,
                 "updated": _when(d.updated_at)}
                for d in outbox_service.queue(s, username=user.username, dead_only=dead)]
    return render(request, "devices_deliveries.html", rows=rows, dead=dead)


@router.post("/deliveries/{delivery_id}/resend", include_in_schema=False)
async def delivery_resend(request: Request, delivery_id: int) -> Response:
    """Reopen a dead delivery (same idempotency key) and run the publish again to send it."""
    await checked_form(request)
    with session() as s:
        user = _admin_somewhere(request, s)
        package_id, flow = outbox_service.resend(s, username=user.username, outbox_id=delivery_id)
    from web.jobs import start

    await start(request, flow, package_id)
    flash(request, "info", translate(lang_of(request), "resend_started"))
    return RedirectResponse("/deliveries?dead=1", status_code=303)


# --- public feeds -------------------------------------------------------------------------------------

def _base(request: Request) -> str:
    configured: str = request.app.state.settings.public_base_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


@router.get("/feeds/{area_code}.json", tags=["feeds"])
def feed_json(request: Request, area_code: str) -> Response:
    """JSON Feed 1.1 of the bulletins published for an area (and the areas above it)."""
    base = _base(request)
    with session() as s:
        entries = feed_entries(s, object_store(), area_code, base)
    title = f"{translate(lang_of(request), 'feed_title')} · {area_code}"
    doc = json_feed(title=title, home_url=base, feed_url=f"{base}/feeds/{area_code}.json", entries=entries)
    return JSONResponse(doc, media_type="application/feed+json", headers={"Cache-Control": "public, max-age=60"})


@router.get("/feeds/{area_code}.rss", tags=["feeds"])
def feed_rss(request: Request, area_code: str) -> Response:
    """RSS 2.0 of the bulletins published for an area, audio as enclosures."""
    base = _base(request)
    with session() as s:
        entries = feed_entries(s, object_store(), area_code, base)
    title = f"{translate(lang_of(request), 'feed_title')} · {area_code}"
    xml = rss_feed(title=title, link=f"{base}/feeds/{area_code}.rss", description=title, entries=entries)
    return Response(xml, media_type="application/rss+xml; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=60"})


@router.get("/feeds/files/{sha256}", tags=["feeds"])
def feed_file(sha256: str) -> Response:
    """A published bulletin's audio or slide (local store; S3 feeds link presigned URLs instead)."""
    if not is_sha256(sha256):
        raise NotFound("no such file")
    with session() as s:
        rec = public_file(s, sha256)
        key, media_type = rec.key, rec.media_type
    store = object_store()
    if not isinstance(store, LocalObjectStore) or not (store.root / key).is_file():
        raise NotFound("no such file here")
    return FileResponse(store.root / key, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
