"""Pages (and the API call) for changing one produced variant: its text, or its voice from the phone.

Rules live in ``services.variant_edits``; here a form is read, the service called, and the ``revise`` flow
started for the new package, which the browser is sent to.
"""

from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from domain.errors import ApprovalRefused, DomainError, InvalidInput, NotFound
from domain.packages import AssetKind
from domain.variant_text import BOARD_CHARS_PER_LINE
from engines.errors import EngineError
from engines.speaking_rate import speaking_rate
from services import variant_edits as edits
from services.runtime import object_store, session
from settings import get_settings
from storage.repositories import drafts, packages
from web.access import session_user
from web.api import ApiUser, _user
from web.app import flash, lang_of, render
from web.error_pages import error_page
from web.forms import checked_form
from web.i18n import translate
from web.officer_text import error_text, language_name
from web.uploads import saved_upload

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["api"])


def voice_of(s: Any, package_id: int, language: str) -> dict[str, Any] | None:
    """Who speaks the variant: a synthetic voice (with its engine) or a person (with their name)."""
    raw = packages.get_asset(s, package_id=package_id, language=language, kind=AssetKind.RAW_SPEECH)
    if raw is None:
        return None
    if raw.meta.get("synthetic") is False or raw.meta.get("recorded_by"):
        return {"synthetic": False, "by": str(raw.meta.get("recorded_by") or "")}
    return {"synthetic": True, "by": str(raw.meta.get("engine") or "")}


def may_change(s: Any, package_id: int, language: str, username: str) -> bool:
    try:
        edits.check_editable(s, package_id, language, username)
    except DomainError:
        return False
    return True


def budget_message(lang: str, budget: edits.TextBudget) -> str:
    text = translate(lang, "ve_saved_budget").format(
        s=f"{budget.script_seconds:.0f}", t=f"{budget.target_seconds:.0f}", n=budget.board_lines,
        m=budget.target_lines)
    if budget.script_over:
        text += " " + translate(lang, "ve_script_over")
    if budget.board_over:
        text += " " + translate(lang, "ve_board_over")
    return text


def _edit_page(request: Request, package_id: int, language: str, form: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    store = object_store()
    lang = lang_of(request)
    with session() as s:
        user = session_user(request, s)
        try:
            edits.check_editable(s, package_id, language, user.username)
        except NotFound as exc:
            return error_page(request, 404, error_text(lang, exc))
        except ApprovalRefused as exc:
            return error_page(request, 403, error_text(lang, exc), link=f"/packages/{package_id}",
                              link_text=translate(lang, "package"))
        script, board = edits.current_texts(s, store, package_id, language)
        pkg = packages.get_package(s, package_id)
        title = drafts.revision_by_id(s, pkg.revision_id).content.title
        voice = voice_of(s, package_id, language)
        forfeits = edits.edit_forfeits_approval(s, package_id, user.username)
    form = form or {"script": script, "board_text": board}
    settings = get_settings()
    current = edits.text_budget(form.get("script", ""), form.get("board_text", ""), language)
    return render(request, "variant_edit.html", status_code=status_code, package_id=package_id,
                  language=language, language_name=language_name(lang, language), title=title, form=form,
                  budget=current, voice=voice, rate=speaking_rate(settings),
                  target_seconds=settings.script_seconds, target_lines=settings.board_lines,
                  chars_per_line=BOARD_CHARS_PER_LINE, forfeits_approval=forfeits)


@router.get("/packages/{package_id}/variants/{language}/edit")
def edit_form(request: Request, package_id: int, language: str) -> Response:
    """The phone-friendly form: script and board text with live counters, and the voice recorder."""
    return _edit_page(request, package_id, language)


@router.post("/packages/{package_id}/variants/{language}/edit")
async def edit_submit(request: Request, package_id: int, language: str) -> Response:
    form = await checked_form(request)
    lang = lang_of(request)
    with session() as s:
        user = session_user(request, s)
        try:
            done = edits.edit_text(s, object_store(), edits.TextEdit(
                package_id, language, form.get("script", ""), form.get("board_text", ""), user.username))
        except (InvalidInput, ApprovalRefused, NotFound) as exc:
            failed: Exception | None = exc
        else:
            failed = None
        username = user.username
    if failed is not None:
        flash(request, "error", error_text(lang, failed))
        return _edit_page(request, package_id, language, form, status_code=422)
    await run_in_threadpool(request.app.state.flows.revise, done.package_id, language, username)
    assert done.budget is not None
    over = done.budget.script_over or done.budget.board_over
    flash(request, "error" if over else "info", budget_message(lang, done.budget))
    flash(request, "info", translate(lang, "ve_revising"))
    return RedirectResponse(f"/packages/{done.package_id}#variant-{language}", status_code=303)


def _record(request: Request, package_id: int, language: str, path: Any) -> tuple[int, str]:
    """Measure and keep the recording (blocking: ffmpeg and the store), in the threadpool."""
    with session() as s:
        user = session_user(request, s)
        done = edits.record_voice(s, object_store(), edits.VoiceRecording(package_id, language, path, user.username))
        return done.package_id, user.username


@router.post("/packages/{package_id}/variants/{language}/voice")
@router.post("/packages/{package_id}/recording/{language}")  # the older address: the same replacement
async def voice_submit(request: Request, package_id: int, language: str) -> Response:
    """A recording from the phone (MediaRecorder's WebM/Opus or MP4/AAC, or a chosen file). The page's
    script posts it with ``Accept: application/json`` and gets ``{"url"}`` or ``{"error"}`` back. Only this
    variant's voice is replaced (the ``revise`` flow): the others keep their assets, and the new package
    needs a new approval."""
    await checked_form(request)
    wants_json = "application/json" in request.headers.get("accept", "")
    lang = lang_of(request)
    upload = (await request.form()).get("recording")
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise InvalidInput("choose an audio file to upload")
        async with saved_upload(upload, "voice") as dest:
            new_id, username = await run_in_threadpool(_record, request, package_id, language, dest)
    except (InvalidInput, ApprovalRefused, NotFound, EngineError) as exc:
        if wants_json:
            return JSONResponse({"error": error_text(lang, exc)}, status_code=422)
        flash(request, "error", error_text(lang, exc))
        return _edit_page(request, package_id, language, status_code=422)
    await run_in_threadpool(request.app.state.flows.revise, new_id, language, username)
    flash(request, "info", translate(lang, "ve_voice_saved"))
    url = f"/packages/{new_id}#variant-{language}"
    if wants_json:
        return JSONResponse({"url": url, "package_id": new_id})
    return RedirectResponse(url, status_code=303)


class TextIn(BaseModel):
    script: str = Field(min_length=1, max_length=edits.MAX_SCRIPT_CHARS)
    board_text: str = Field(min_length=1, max_length=edits.MAX_BOARD_CHARS)


@api_router.put("/packages/{package_id}/variants/{language}/text", status_code=202)
def api_edit(request: Request, package_id: int, language: str, body: TextIn, username: ApiUser) -> dict[str, Any]:
    """Replace a variant's script and board text; returns the new package (re-spoken, needing approval) and
    the budget (over budget is reported, never cut)."""
    with session() as s:
        user = _user(s, username)
        done = edits.edit_text(s, object_store(), edits.TextEdit(package_id, language, body.script,
                                                                 body.board_text, user.username))
    request.app.state.flows.revise(done.package_id, language, username)
    assert done.budget is not None
    return {"package_id": done.package_id, "replaces": package_id, "status": "producing",
            "budget": done.budget.to_meta()}


@api_router.post("/packages/{package_id}/variants/{language}/voice", status_code=202)
@api_router.post("/packages/{package_id}/recordings/{language}", status_code=202)  # the older address
async def api_voice(request: Request, package_id: int, language: str, recording: UploadFile,
                    username: ApiUser) -> dict[str, Any]:
    """Upload a person's reading of the variant (multipart field ``recording``); only this variant's voice is
    replaced (the others keep their assets) in a new package that needs a new approval."""
    def submit(dest: Any) -> tuple[int, int]:
        with session() as s:
            user = _user(s, username)
            new_id = edits.record_voice(s, object_store(), edits.VoiceRecording(package_id, language, dest,
                                                                                user.username)).package_id
            return new_id, packages.get_package(s, new_id).draft_id

    async with saved_upload(recording, "voice") as dest:
        new_id, draft_id = await run_in_threadpool(submit, dest)
    await run_in_threadpool(request.app.state.flows.revise, new_id, language, username)
    return {"package_id": new_id, "replaces": package_id, "draft_id": draft_id, "status": "producing"}
