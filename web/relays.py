"""The relays page: upstream sources, relay slots per area and recent airings, with forms to add sources
(administrators) and slots (approvers and administrators of the area); every change goes through
``services.relays`` like the CLI."""

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError
from services import areas as area_service
from services import auth
from services import relays as relay_service
from services.runtime import session
from storage.models import UserRecord
from storage.repositories import relays as repo
from web.access import page_user, session_user
from web.app import Forbidden, flash, lang_of, render
from web.forms import checked_form
from web.i18n import translate
from web.officer_text import error_text

router = APIRouter(include_in_schema=False)


@router.get("/relays")
def relays_page(request: Request) -> Response:
    with session() as s:
        user, visible = page_user(request, s, "relay.manage", "relays")
        sources = repo.list_sources(s)
        names = {r.id: r.name for r in sources}
        slots = [{"id": r.id, "area_code": r.area_code, "label": relay_service.slot_label(r, lang_of(request)),
                  "source": names.get(r.source_id, "?"), "priority": r.priority, "active": r.active}
                 for r in repo.list_slots(s) if visible is None or r.area_code in visible]
        runs = [{"slot_id": r.slot_id, "date": r.local_date, "area_code": r.area_code, "status": r.status,
                 "events": [e["event"] for e in r.events]}
                for r in repo.list_runs(s) if visible is None or r.area_code in visible]
        return render(request, "relays.html", sources=[{"id": r.id, "name": r.name, "codec": r.codec}
                                                        for r in sources],
                      slots=slots, runs=runs, may_add_source=auth.can_anywhere(s, user, "admin"))


async def _change(request: Request, change: Callable[[Session, UserRecord, dict[str, str]], object],
                  done_key: str) -> Response:
    """Apply a form through the service; a refusal is flashed in the officer's words, nothing is stored."""
    form = await checked_form(request)

    def run() -> None:
        with session() as s:
            change(s, session_user(request, s), form)
    try:
        await run_in_threadpool(run)  # a source is probed first: seconds, off the event loop
    except DomainError as exc:
        if isinstance(exc, Forbidden) and "relay sources" not in str(exc):
            raise
        flash(request, "error", error_text(lang_of(request), exc))
    else:
        flash(request, "ok", translate(lang_of(request), done_key))
    return RedirectResponse("/relays", status_code=303)


@router.post("/relays/sources")
async def add_source(request: Request) -> Response:
    return await _change(request, lambda s, user, f: relay_service.add_source(
        s, name=f.get("name", ""), url=f.get("url", ""), actor=user.username), "relay_source_added")


@router.post("/relays/slots")
async def add_slot(request: Request) -> Response:
    def change(s: Session, user: UserRecord, f: dict[str, str]) -> object:
        code = area_service.code_from_option(s, f.get("area", ""))
        return relay_service.add_slot(s, source=f.get("source", ""), area_code=code, starts=f.get("starts", ""),
                                      ends=f.get("ends", ""), days=f.get("days", "") or "daily",
                                      priority=f.get("priority", "") or "uu_tien", actor=user.username)
    return await _change(request, change, "relay_slot_added")


@router.post("/relays/slots/{slot_id}/toggle")
async def toggle_slot(request: Request, slot_id: int) -> Response:
    def change(s: Session, user: UserRecord, f: dict[str, str]) -> object:
        return relay_service.set_slot_active(s, slot_id, f.get("active") == "1", actor=user.username)
    return await _change(request, change, "relay_slot_changed")
