"""The package page's live card: production and publication progress (``GET /packages/{id}/progress``, an
HTML fragment the page polls while something is under way), failures in the officer's words, and the retry
of a failed publication for the approvers and administrators of the package's areas."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from domain.deliveries import DeliveryStatus, PushStatus
from services import progress as progress_service
from services.runtime import session
from storage.models import UserRecord
from web.access import package_areas, require, session_user
from web.app import csrf_token, flash, lang_of, templates
from web.i18n import translate
from web.officer_text import language_name, officer_message
from web.pages import _start_kept, checked_form

router = APIRouter(include_in_schema=False)


def progress_view(s: Session, package_id: int, user: UserRecord, lang: str) -> dict[str, Any]:
    """The card's data with every reason in the reader's language (no engine message, path or command)."""
    p = progress_service.package_progress(s, package_id, user)
    p["error_text"] = officer_message(lang, str(p["error"]), fallback="err_production") if p["error"] else ""
    p["failure_text"] = officer_message(lang, str(p["failure"]), fallback="pr_err_other") if p["failure"] else ""
    for row in p["production"]:
        row["language_name"] = language_name(lang, row["language"])
        row["blocked_text"] = officer_message(lang, row["blocked_reason"], fallback="err_blocked") \
            if row["blocked_reason"] else ""
    for c in p["channels"]:
        failed = c["status"] in (DeliveryStatus.FAILED, DeliveryStatus.DEAD, PushStatus.FAILED)
        c["reason"] = officer_message(lang, str(c["detail"] or ""), fallback="pr_err_other") \
            if failed and c["detail"] else ""
        c["label"] = translate(lang, "pr_channel_" + c["channel"]).format(name=c["name"]) \
            if c["channel"] != "http" else c["name"]
    return p


@router.get("/packages/{package_id}/progress")
def progress_fragment(request: Request, package_id: int) -> Response:
    """The live card alone (polled by the package page; no flash messages are taken)."""
    lang = lang_of(request)
    with session() as s:
        user = session_user(request, s)
        require(s, user, "package.view", area_codes=package_areas(s, package_id))
        p = progress_view(s, package_id, user, lang)
    html = templates.get_template("_progress.html").render(
        p=p, t=lambda key: translate(lang, key), csrf=csrf_token(request), lang=lang)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.post("/packages/{package_id}/retry")
async def retry_publication(request: Request, package_id: int) -> Response:
    """Send the package again: dead deliveries reopened (checked and audited by the service), then the
    publish flow, which also pushes an emergency whose MQTT push failed."""
    await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        progress_service.retry_publication(s, package_id, actor=user.username)
    if await _start_kept(request, "publish", package_id):
        flash(request, "info", translate(lang_of(request), "pr_retry_started"))
    return RedirectResponse(f"/packages/{package_id}#progress", status_code=303)
