"""Signing in and out (a login returns to the page asked for)."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from services import auth, credentials
from services.runtime import session
from storage.models import UserRecord
from web.app import LoginRequired, csrf_token, flash, render
from web.forms import checked_form, safe_next
from web.i18n import translate
from web.security import client_address

router = APIRouter(include_in_schema=False)


def _client(request: Request) -> str:
    """The client's address for the login throttle: X-Forwarded-For counts only from a configured proxy."""
    peer = request.client.host if request.client else "-"
    return client_address(peer, request.headers.get("x-forwarded-for"), request.app.state.trusted_proxies)


def _authenticate(username: str, password: str) -> int | None:
    with session() as s:
        user = auth.authenticate(s, username, password)
        return user.id if user else None


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
    uid = await run_in_threadpool(_authenticate, username, password)  # argon2 stays off the event loop
    if uid is None:
        throttle.failed(username, _client(request))
        flash(request, "error", translate(lang, "login_failed"))
        return render(request, "login.html", status_code=401, username=username, next_url=form.get("next", ""))
    throttle.succeeded(username, _client(request))
    with session() as s:
        user = s.get(UserRecord, uid)
        if user is None:
            raise LoginRequired()
        sid = credentials.open_session(s, user, via="web")
    request.session.clear()  # a new session on login: no fixation
    request.session["sid"] = sid
    csrf_token(request)
    return RedirectResponse(safe_next(form.get("next")), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    with session() as s:
        credentials.close_session(s, request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
