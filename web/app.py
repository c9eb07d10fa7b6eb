"""The web app: server-rendered pages for editors and approvers, a JSON API, and assets.

``bantin serve`` runs it with uvicorn. Pages work at 360 px; text is Vietnamese with an English switch.
Sessions are signed HttpOnly SameSite=Lax cookies; every form carries a CSRF token; Jinja2 escapes output.
"""

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from domain.errors import ApprovalRefused, DomainError, InvalidInput, InvalidTransition, ManifestMismatch, NotFound
from settings import Settings, get_settings
from web.i18n import LANGS, translate
from web.jobs import FlowStarter
from web.security import LoginThrottle, load_secret, new_csrf_token

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


class Forbidden(Exception):
    """The signed-in user may not do this (rendered as 403)."""


class LoginRequired(Exception):
    """No signed-in user (pages redirect to /login; the API answers 401)."""


def http_status(exc: Exception) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, (ApprovalRefused, Forbidden)):
        return 403
    if isinstance(exc, (ManifestMismatch, InvalidTransition)):
        return 409
    if isinstance(exc, InvalidInput):
        return 422
    return 400


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "vi"
    return lang if lang in LANGS else "vi"


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return str(token)


def flash(request: Request, kind: str, text: str) -> None:
    request.session.setdefault("flashes", []).append([kind, text])


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """Render a page with the shared context (user, language, CSRF token, flash messages)."""
    lang = lang_of(request)
    flashes = request.session.pop("flashes", [])
    response = templates.TemplateResponse(
        request, template,
        # The signed-in user as plain values: pages render after their database session has closed.
        {"t": lambda key: translate(lang, key), "lang": lang, "csrf": csrf_token(request), "flashes": flashes,
         "user": getattr(request.state, "user_view", None), **ctx},
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie("lang", lang, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: the environment's)."""
    settings = settings or get_settings()
    starter = FlowStarter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        starter.shutdown()

    app = FastAPI(title="bantin", version="1", lifespan=lifespan,
                  description="Bulletins for commune loudspeakers, e-boards and source information systems.")
    app.state.settings = settings
    app.state.flows = starter
    app.state.throttle = LoginThrottle()
    app.state.secret = load_secret(settings.home, settings.secret_key)
    app.add_middleware(SessionMiddleware, secret_key=app.state.secret, session_cookie="bantin_session",
                       max_age=12 * 3600, same_site="lax", https_only=settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from web import api, dashboard, devices, pages, programs, search

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(search.router)
    app.include_router(devices.router)
    app.include_router(programs.router)
    app.include_router(dashboard.router)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return Response(status_code=303, headers={"Location": "/login"})

    @app.exception_handler(Forbidden)
    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: Exception) -> Response:
        status = http_status(exc)
        message = translate(lang_of(request), "forbidden") if isinstance(exc, Forbidden) else str(exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return render(request, "error.html", status_code=status, status=status, message=message)

    return app
