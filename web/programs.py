"""The programs page: a commune's programmes for a date (tomorrow by default), what each edition plays and
leaves out, the built audio, and the commune officer's reorder form."""

from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from domain.editions import EditionStatus
from domain.errors import InvalidInput, NotFound
from domain.programs import local_date
from services import auth
from services import programs as program_service
from services.runtime import object_store, session
from storage.models import UserRecord
from storage.models_programs import ProgramEditionRecord
from storage.repositories import areas as area_repo
from storage.repositories import users
from web.access import session_user
from web.app import Forbidden, flash, lang_of, render
from web.area_picker import area_code
from web.feedback import day as day_label
from web.i18n import translate
from web.officer_text import error_text
from web.pages import checked_form

router = APIRouter(include_in_schema=False)


def _day(value: str | None) -> date:
    if not value:
        return local_date(datetime.now(UTC)) + timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{value}' is not a date (use YYYY-MM-DD)") from None


def _may_order(s: Session, user: UserRecord, area_code: str) -> bool:
    return auth.can(s, user, "area.configure", area_codes=[area_code])


@router.get("/programs")
def programs_page(request: Request, area: str = "", day: str = "") -> Response:
    """Programmes of one area on one date (default: the user's own area, tomorrow); a date or area name that
    cannot be read is said on the form, kept as typed."""
    with session() as s:
        user = session_user(request, s)
        if not area:
            area = next((m.area_code for m in users.memberships_of(user) if m.area_code), "")
        try:
            when = _day(day)
            area = area_code(s, area)  # a name typed in the picker
        except InvalidInput as exc:
            flash(request, "error", error_text(lang_of(request), exc))
            return render(request, "programs.html", status_code=422, rows=[], area=area, day=day, invalid=True,
                          area_name="", prev_day="", next_day="", may_order=False)
        rows: list[dict[str, object]] = []
        area_name = ""
        may_order = False
        if area:
            area_name = area_repo.get_area(s, area).name
            if not auth.can(s, user, "package.view", area_codes=[area]):
                raise Forbidden("programs")
            rows = [r for r in program_service.day_overview(s, when, area_code=area) if r["area_code"] == area]
            may_order = _may_order(s, user, area)
            for r in rows:
                if r["status"] == EditionStatus.PUBLISHED:
                    ed = s.query(ProgramEditionRecord).filter_by(
                        program_id=r["program_id"], slot_date=r["date"], area_code=area,
                        language=r["language"]).one()
                    r["edition_id"] = ed.id
        return render(request, "programs.html", rows=rows, area=area, area_name=area_name, day=when.isoformat(),
                      prev_day=(when - timedelta(days=1)).isoformat(), next_day=(when + timedelta(days=1)).isoformat(),
                      may_order=may_order, shown_days=[day_label(when + timedelta(days=n)) for n in (-1, 0, 1)])


@router.post("/programs/{program_id}/reorder")
async def programs_reorder(request: Request, program_id: int) -> Response:
    """Save the officer's order: one position field per package (``pos_<id>``) and ``skip_<id>`` checkboxes."""
    form = await checked_form(request)
    area, day = form.get("area", ""), form.get("day", "")
    positions: list[tuple[float, int]] = []
    skipped: list[int] = []
    for key, value in form.items():
        if key.startswith("pos_"):
            try:
                positions.append((float(value or 0), int(key[4:])))
            except ValueError:
                raise InvalidInput(f"position '{value}' is not a number") from None
        elif key.startswith("skip_") and value:
            skipped.append(int(key[5:]))
    order = [pid for _, pid in sorted(positions)]
    with session() as s:
        user = session_user(request, s)
        program_service.reorder(s, program_id=program_id, day=_day(day), area_code=area, order=order,
                                skipped=skipped, actor=user.username)
    flash(request, "ok", translate(lang_of(request), "prog_order_saved"))
    return RedirectResponse(f"/programs?area={area}&day={day}", status_code=303)


@router.get("/programs/audio/{edition_id}")
def program_audio(request: Request, edition_id: int) -> Response:
    """A published edition's audio, for users who may view its area."""
    with session() as s:
        user = session_user(request, s)
        ed = s.get(ProgramEditionRecord, edition_id)
        if ed is None or not ed.audio_key:
            raise NotFound("no such programme audio")
        if not auth.can(s, user, "package.view", area_codes=[ed.area_code]):
            raise Forbidden("programs")
        key = ed.audio_key
    return Response(object_store().get_bytes(key), media_type="audio/mpeg",
                    headers={"Cache-Control": "private, max-age=86400"})
