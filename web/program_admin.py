"""Programme administration in the browser: an area's programmes (create, edit, slots, switch off), quiet
hours, volume profile and default content. Changes go through ``services.program_admin``, which checks
``area.configure`` (an approver or admin of the area or above); a refused form comes back as typed."""

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from domain.errors import DomainError
from domain.priority import Priority
from services import areas as area_service
from services import auth
from services import program_admin as service
from services.runtime import session
from storage.models import UserRecord
from storage.repositories import users
from web.access import session_user
from web.app import Forbidden, flash, lang_of, render
from web.i18n import translate
from web.officer_text import error_text
from web.pages import checked_form

router = APIRouter(include_in_schema=False)
PAGE = "/programs/settings"


def _home_area(user: UserRecord) -> str:
    return next((m.area_code for m in users.memberships_of(user) if m.area_code and m.role.value in
                 ("approver", "admin")), "")


def _page(request: Request, area: str, status_code: int = 200, forms: dict[str, dict[str, str]] | None = None,
          error: str | None = None) -> Response:
    """The settings page of ``area`` (code or name; empty: the user's own), with ``forms`` as typed."""
    lang = lang_of(request)
    with session() as s:
        user = session_user(request, s)
        if not auth.can_anywhere(s, user, "area.configure"):
            raise Forbidden("programs")
        area = area or _home_area(user)
        settings = None
        if area:
            try:
                area = area_service.code_from_option(s, area)
                settings = service.area_settings(s, area, lang=lang)
            except DomainError as exc:
                error, settings = error or error_text(lang, exc), None
            if settings is not None and not auth.can(s, user, "area.configure", area_codes=[area]):
                raise Forbidden("programs")
    if error and status_code == 200:
        status_code = 422  # an unknown area typed in the picker
    return render(request, "program_settings.html", status_code=status_code, area=area, s=settings,
                  forms=forms or {}, error=error,
                  priorities=[p.value for p in Priority if p is not Priority.KHAN_CAP])


@router.get(PAGE)
def settings_page(request: Request, area: str = "") -> Response:
    return _page(request, area)


def _change(request: Request, area: str, form_name: str, form: dict[str, str],
            change: Callable[[Session, str], object], key: str) -> Response:
    """Run ``change(session, username)``; refused: the page again with the form as typed and the reason."""
    try:
        with session() as s:
            change(s, session_user(request, s).username)
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _page(request, area, 422, {form_name: form}, error_text(lang_of(request), exc))
    flash(request, "info", translate(lang_of(request), key))
    return RedirectResponse(f"{PAGE}?area={quote(area)}", status_code=303)


@router.post(PAGE + "/programs")
async def program_save(request: Request) -> Response:
    """Create a programme, or change one (``program_id``)."""
    form = await checked_form(request)
    area = form.get("area", "").strip()
    pid = form.get("program_id", "")
    typed = service.ProgramForm(area_code=area, name=form.get("name", ""), at=form.get("at", ""),
                                days=form.get("days", ""), max_minutes=form.get("max_minutes", ""),
                                priority=form.get("priority", ""), languages=form.get("languages", ""),
                                active=form.get("active", "1") == "1",
                                program_id=int(pid) if pid.isdigit() else None)
    return _change(request, area, f"program-{pid}" if pid else "new", form,
                   lambda s, actor: service.define_program(s, typed, actor=actor),
                   "pa_program_saved" if pid else "pa_program_created")


@router.post(PAGE + "/programs/{program_id}/active")
async def program_active(request: Request, program_id: int) -> Response:
    form = await checked_form(request)
    active = form.get("active") == "1"
    return _change(request, form.get("area", "").strip(), "active", form,
                   lambda s, actor: service.set_program_active(s, program_id, active, actor=actor),
                   "pa_program_on" if active else "pa_program_off")


_PROFILE = {"quiet": (service.set_quiet_hours, "pa_quiet_saved"), "volume": (service.set_volume, "pa_volume_saved"),
            "default": (service.set_default_content, "pa_default_saved")}


@router.post(PAGE + "/{part}")
async def profile_save(request: Request, part: str) -> Response:
    """Quiet hours, volume profile or default content of an area (empty text removes the area's own)."""
    if part not in _PROFILE:
        from domain.errors import NotFound

        raise NotFound("no such setting")
    form = await checked_form(request)
    area = form.get("area", "").strip()
    setter, key = _PROFILE[part]
    return _change(request, area, part, form,
                   lambda s, actor: setter(s, area_code=area, text=form.get("value", ""), actor=actor), key)
