"""The web app: server-rendered pages for editors and approvers, a JSON API, and assets.

``bantin serve`` runs it with uvicorn. Pages work at 360 px; text is Vietnamese with an English switch.
Sessions are signed HttpOnly SameSite=Lax cookies; every form carries a CSRF token; Jinja2 escapes output.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError
from starlette.middleware.sessions import SessionMiddleware

from domain.deliveries import DeliveryStatus, PushStatus
from domain.devices import DeviceStatus
from domain.editions import EditionStatus
from domain.errors import (  # noqa: F401 (Forbidden: web modules import it from here)
    ApprovalRefused,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    ManifestMismatch,
    NotFound,
    Unauthenticated,
)
from domain.feedback import FeedbackState
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority
from domain.relays import RelayRunStatus
from domain.reports import DeviceState
from domain.streams import LiveStatus
from engines.errors import EngineError, MediaError
from settings import Settings, get_settings
from web.area_labels import area_map
from web.error_pages import add_error_text, add_html_error_pages
from web.i18n import LANGS, translate
from web.jobs import FlowStarter, RunRefused
from web.security import LoginThrottle, RateLimit, load_secret, new_csrf_token, parse_proxies

HERE = Path(__file__).parent
STATE_ENUMS = {e.__name__: e for e in (PackageStatus, VariantStatus, AssetKind, DeliveryStatus, PushStatus,
                                        DeviceStatus, DeviceState, EditionStatus, FeedbackState, Priority,
                                        LiveStatus, RelayRunStatus)}
templates = Jinja2Templates(directory=str(HERE / "templates"))
add_error_text(templates)
templates.env.globals.update(STATE_ENUMS)  # pages compare states as the domain's enums, never bare strings
templates.env.globals["area_map"] = area_map  # area names for pages whose handler passes codes


class LoginRequired(Exception):
    """No signed-in user (pages redirect to /login; the API answers 401)."""


# How ``bantin serve`` runs uvicorn: its proxy-header middleware would believe X-Forwarded-For from any
# loopback client; client addresses are resolved by the app against BANTIN_TRUSTED_PROXIES instead. A stop
# waits at most 5 s for open requests (a phone polling a progress card must not keep the stack running).
SERVER_OPTIONS: dict[str, Any] = {"proxy_headers": False, "server_header": False, "timeout_graceful_shutdown": 5}


# The one table from error classes to HTTP statuses (first match wins; other domain errors are 400).
HTTP_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404),
    (ManifestMismatch, 409), (InvalidTransition, 409), (Conflict, 409),
    (InvalidInput, 422), (EngineError, 422),
)


def http_status(exc: Exception) -> int:
    if isinstance(exc, RunRefused):
        return exc.status
    return next((code for cls, code in HTTP_STATUS if isinstance(exc, cls)), 400)


def public_message(exc: Exception, lang: str) -> str:
    """What an officer reads: the domain's one-line reason, or a translated sentence where the reason could
    show internals (engine messages name files and programs) or says nothing useful (a bare refusal)."""
    if isinstance(exc, RunRefused):  # the officer's words, never the server's details
        return translate(lang, exc.key)
    if isinstance(exc, MediaError):
        return translate(lang, "media_unreadable")
    if isinstance(exc, EngineError):
        return translate(lang, "engine_failed")
    if isinstance(exc, Forbidden) and not isinstance(exc, ApprovalRefused):
        return translate(lang, "forbidden")  # a refused approval explains itself (four-eyes rule, level)
    return str(exc)


def login_url(request: Request) -> str:
    """The login page, asked to come back to this page afterwards (a GET only: a form's POST is not replayed)."""
    if request.method != "GET" or request.url.path in ("/", "/login"):
        return "/login"
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?" + urlencode({"next": target})


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "vi"
    return lang if lang in LANGS else "vi"


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf_token()
    return str(token)


def flash(request: Request, kind: str, text: str) -> None:
    # Assign, never mutate in place: the session is saved only when a key is set, so appending to a list
    # already there (a flash not yet shown) was silently lost.
    request.session["flashes"] = [*request.session.get("flashes", []), [kind, text]]


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """Render a page with the shared context (user, language, CSRF token, flash messages)."""
    lang = lang_of(request)
    flashes = request.session.pop("flashes", [])
    response = templates.TemplateResponse(
        request, template,
        # The signed-in user as plain values: pages render after their database session has closed.
        {"t": lambda key: translate(lang, key), "lang": lang, "csrf": csrf_token(request), "flashes": flashes,
         "user": getattr(request.state, "user_view", None), "nav_counts": nav_counts(request), **ctx},
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie("lang", lang, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


def nav_counts(request: Request) -> dict[str, int]:
    """The menu's numbers for the signed-in user (none on pages without one)."""
    view = getattr(request.state, "user_view", None)
    if not view:
        return {}
    from services.runtime import session
    from services.worklists import menu_counts
    from storage.models import UserRecord

    with session() as s:
        user = s.get(UserRecord, view["id"])
        return menu_counts(s, user) if user is not None else {}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: the environment's)."""
    settings = settings or get_settings()
    starter = FlowStarter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        starter.shutdown()
        from services import live_air  # live sessions this process feeds end with it (recordings kept)

        live_air.end_all()

    app = FastAPI(title="bantin", version="1", lifespan=lifespan,
                  description="Bulletins for commune loudspeakers, e-boards and source information systems.")
    app.state.settings = settings
    app.state.flows = starter
    app.state.throttle = LoginThrottle()
    app.state.trusted_proxies = parse_proxies(settings.trusted_proxies)
    # Unsigned device registrations: per client address, and for everyone together (a flood from many).
    app.state.registrations = RateLimit(settings.device_registrations_per_hour, 3600.0)
    app.state.registrations_all = RateLimit(settings.device_registrations_per_hour * 20, 3600.0)
    app.state.secret = load_secret(settings.home, settings.secret_key)
    app.add_middleware(SessionMiddleware, secret_key=app.state.secret, session_cookie="bantin_session",
                       max_age=12 * 3600, same_site="lax", https_only=settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def _favicon() -> Response:  # browsers ask for it on every page whatever base.html links
        return Response(status_code=301, headers={"Location": "/static/favicon.svg",
                                                  "Cache-Control": "public, max-age=86400"})

    from web import (
        admin,
        admin_ops,
        api,
        area_picker,
        dashboard,
        devices,
        feedback,
        feedback_handlers,
        icecast_auth,
        live,
        open311,
        pages,
        program_admin,
        programs,
        progress_pages,
        relays,
        search,
    )

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(search.router)
    app.include_router(devices.router)
    app.include_router(program_admin.router)
    app.include_router(area_picker.router)
    app.include_router(progress_pages.router)
    app.include_router(programs.router)
    app.include_router(admin.router)
    app.include_router(admin_ops.router)
    app.include_router(feedback.router)
    app.include_router(feedback_handlers.router)
    app.include_router(open311.router)
    app.include_router(dashboard.router)
    app.include_router(icecast_auth.router)
    app.include_router(relays.router)
    app.include_router(live.router)
    add_html_error_pages(app)

    @app.exception_handler(OverflowError)
    @app.exception_handler(UnicodeError)
    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: Exception) -> Response:
        # The database refused a value: an id beyond its integer range (2^63 on SQLite, 2^31 on PostgreSQL),
        # a NUL byte or a lone surrogate. The transaction was rolled back; the input was at fault.
        message = translate(lang_of(request), "invalid_value")
        if request.url.path.startswith(("/api/", "/device/")):
            return JSONResponse({"error": message}, status_code=422)
        return render(request, "error.html", status_code=422, status=422, message=message)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return Response(status_code=303, headers={"Location": login_url(request)})

    @app.exception_handler(DomainError)
    @app.exception_handler(EngineError)
    async def _domain_error(request: Request, exc: Exception) -> Response:
        status = http_status(exc)
        message = public_message(exc, lang_of(request))
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return render(request, "error.html", status_code=status, status=status, message=message)

    return app
