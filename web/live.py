"""The live page: an approver (or administrator) goes on air from a phone or a PC.

The page's script records the microphone with MediaRecorder (``audio/webm;codecs=opus``; Safari:
``audio/mp4``) in slices of 250 ms and posts each slice, in order, to ``/live/sessions/<id>/audio``; the
server pipes them into ffmpeg (``services.live_air``). Every change goes through ``services.live``. The
script's requests carry the page's CSRF token in ``X-CSRF-Token``.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from domain.errors import DomainError, NotFound
from services import areas as area_service
from services import live, live_air
from services.runtime import session
from settings import get_settings
from web.access import page_user, session_user
from web.app import Forbidden, lang_of, render
from web.i18n import translate
from web.officer_text import error_text
from web.security import csrf_matches

router = APIRouter(include_in_schema=False)


def _csrf(request: Request) -> None:
    if not csrf_matches(request.session.get("csrf"), request.headers.get("x-csrf-token")):
        raise Forbidden("csrf")


def _user(request: Request) -> str:
    with session() as s:
        return session_user(request, s).username


def _refusal(request: Request, exc: DomainError) -> JSONResponse:
    if isinstance(exc, Forbidden):
        return JSONResponse({"error": translate(lang_of(request), "err_live_forbidden")}, status_code=403)
    status = 404 if isinstance(exc, NotFound) else 400
    return JSONResponse({"error": error_text(lang_of(request), exc)}, status_code=status)


def _minutes(value: float, lang: str) -> str:
    """Minutes as officers write them: ``11``, ``10,5`` in Vietnamese (``10.5`` in English)."""
    text = f"{value:.1f}".removesuffix(".0")
    return text.replace(".", ",") if lang == "vi" else text


@router.get("/live")
def live_page(request: Request) -> Response:
    with session() as s:
        user, _ = page_user(request, s, "live.broadcast", "live")
        lang = lang_of(request)
        rows = []
        sessions = live.recent_sessions(s, user, 20)
        proofs = live.proofs_of_play(s, sessions)
        for r in sessions:
            proof = proofs[r.id]
            rows.append({"id": r.id, "title": r.title, "areas": ", ".join(r.area_codes), "status": r.status,
                         "reason": r.end_reason, "emergency": r.emergency,
                         "started": r.started_at.strftime("%d/%m %H:%M"),
                         "devices": proof.devices, "played": proof.devices_played, "plays": proof.plays,
                         "completed": proof.completed, "minutes": _minutes(proof.minutes, lang)})
        return render(request, "live.html", sessions=rows, max_minutes=get_settings().live_max_minutes)


@router.post("/live/sessions")
async def start_session(request: Request) -> Response:
    _csrf(request)
    body: dict[str, Any] = await request.json()

    def run() -> int:
        with session() as s:
            user = session_user(request, s)
            codes = [area_service.code_from_option(s, part) for part in str(body.get("areas", "")).split(",")
                     if part.strip()]
            rec = live.start(s, area_codes=codes, actor=user.username, title=str(body.get("title", "")),
                             emergency=bool(body.get("emergency")))
            return rec.id
    try:
        session_id = await run_in_threadpool(run)
    except DomainError as exc:
        return _refusal(request, exc)
    return JSONResponse({"id": session_id}, status_code=201)


@router.post("/live/sessions/{session_id}/audio")
async def audio(request: Request, session_id: int) -> Response:
    _csrf(request)
    data = await request.body()
    actor = await run_in_threadpool(_user, request)
    try:
        await run_in_threadpool(live_air.push, session_id, data, actor=actor)
    except DomainError as exc:
        return _refusal(request, exc)
    return Response(status_code=204)


@router.post("/live/sessions/{session_id}/stop")
async def stop_session(request: Request, session_id: int) -> Response:
    _csrf(request)
    actor = await run_in_threadpool(_user, request)
    try:
        entry = await run_in_threadpool(live_air.end, session_id, "stopped", actor=actor)
    except DomainError as exc:
        return _refusal(request, exc)
    return JSONResponse({"archive_entry_id": entry})
