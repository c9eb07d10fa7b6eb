"""Signing in and out (a login returns to the page asked for)."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services import auth
from services.runtime import session
from storage.models import UserRecord
from web.app import csrf_token, flash, render
from web.forms import checked_form, safe_next
from web.i18n import translate

router = APIRouter(include_in_schema=False)


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    return render(request, "login.html", next_url=safe_next(next) if next else "")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await checked_form(request)
    username, password = form.get("username", "").strip(), form.get("password", "")
    throttle = request.app.state.throttle
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "vi"
    if throttle.blocked(username, _client(request)):
        flash(request, "error", translate(lang, "login_throttled"))
        return render(request, "login.html", status_code=429, username=username, next_url=form.get("next", ""))
    with session() as s:
        user = auth.authenticate(s, username, password)
        uid = user.id if user else None
    if uid is None:
        throttle.failed(username, _client(request))
        flash(request, "error", translate(lang, "login_failed"))
        return render(request, "login.html", status_code=401, username=username, next_url=form.get("next", ""))
    throttle.succeeded(username, _client(request))
    with session() as s:
        user = s.get(UserRecord, uid)
        if user is not None:
            auth.record_sign_in(s, user, via="web")
    request.session.clear()  # a new session on login: no fixation
    request.session["uid"] = uid
    csrf_token(request)
    return RedirectResponse(safe_next(form.get("next")), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
