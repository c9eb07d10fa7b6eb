"""Citizens' feedback, handlers' side: the queue, one item (answer, transfer, reject, notes, on air),
the photo and voice message (handlers only), and the form for feedback taken by phone or in person.

Every action is a POST with the CSRF token and calls ``services.feedback``, which checks that the user
handles the item's area and writes the audit entry.
"""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from domain.errors import InvalidInput, InvalidTransition, NotFound
from domain.feedback import Channel, FeedbackError, FeedbackState, local_date
from services import feedback as fb
from services import feedback_intake as intake
from services.feedback_config import load_config
from services.runtime import object_store, session
from storage.repositories import areas as area_repo
from web.access import session_user
from web.app import Forbidden, flash, lang_of, render
from web.area_labels import names_by_code
from web.feedback import day, error_text
from web.i18n import translate
from web.jobs import RunRefused, start
from web.pages import checked_form

router = APIRouter(include_in_schema=False)
ACTIONS = ("assign", "start", "answer", "close", "reopen", "reject", "transfer", "note", "on_air", "transcribe")


def _cat_names(lang: str) -> dict[str, str]:
    return {c.code: c.name(lang) for c in load_config().categories}


@router.get("/feedback")
def queue_page(request: Request, all: str = "") -> Response:  # noqa: A002 (a query parameter's name)
    """The items the user handles, the most urgent due date first; overdue ones marked."""
    with session() as s:
        user = session_user(request, s)
        states = [st.value for st in FeedbackState] if all else None
        items = fb.queue(s, user.username, states=states)
        names = names_by_code(s, [c for r in items for c in (r.area_code, r.unit_code)])
        rows = [{"id": r.id, "code": r.tracking_code, "state": r.state, "category": r.category,
                 "area": names.get(r.area_code, r.area_code), "unit": names.get(r.unit_code, r.unit_code),
                 "due": day(r.due_date), "overdue": fb.overdue(r), "assignee": r.assignee,
                 "text": r.text[:160], "received": day(local_date(r.received_at))}
                for r in items]
        may_enter = fb.handled_units(s, user) != set()
    return render(request, "feedback_queue.html", rows=rows, cats=_cat_names(lang_of(request)), all=bool(all),
                  may_enter=may_enter, overdue=sum(1 for r in rows if r["overdue"]))


@router.get("/feedback/new")
def new_page(request: Request) -> Response:
    with session() as s:
        session_user(request, s)
    lang = lang_of(request)
    return render(request, "feedback_new.html", categories=[(c.code, c.name(lang)) for c in load_config().categories],
                  form={})


@router.post("/feedback/new")
async def new_submit(request: Request) -> Response:
    form = await checked_form(request)
    lang = lang_of(request)
    try:
        channel = Channel(form.get("channel", "phone"))
        with session() as s:
            user = session_user(request, s)
            r = intake.submit_by_officer(s, object_store(), intake.Submission(
                area_code=form.get("area", "").strip(), category=form.get("category", ""), text=form.get("text", ""),
                channel=channel, hamlet=form.get("hamlet", ""), contact_name=form.get("name", ""),
                contact_phone=form.get("phone", ""), contact_consent=form.get("consent") == "1"),
                officer=user.username)
    except (FeedbackError, ValueError) as exc:
        message = error_text(lang, exc) if isinstance(exc, FeedbackError) else translate(lang, "error")
        return render(request, "feedback_new.html", status_code=422, error=message, form=form,
                      categories=[(c.code, c.name(lang)) for c in load_config().categories])
    flash(request, "ok", f"{translate(lang, 'fb_your_code')}: {r.tracking_code}")
    return RedirectResponse(f"/feedback/{r.feedback_id}", status_code=303)


@router.get("/feedback/{feedback_id}")
def item_page(request: Request, feedback_id: int) -> Response:
    lang = lang_of(request)
    with session() as s:
        user = session_user(request, s)
        try:
            rec = fb.get_for(s, user.username, feedback_id)
        except FeedbackError as exc:
            raise Forbidden(str(exc)) from None
        tree_names = {c: area_repo.get_area(s, c).name for c in {rec.area_code, rec.unit_code}}
        item = {c: getattr(rec, c) for c in ("id", "tracking_code", "state", "category", "area_code", "unit_code",
                                             "hamlet", "text", "channel", "assignee", "due_date", "answer",
                                             "answered_by", "reject_reason", "reject_note", "duplicate_of",
                                             "bulletin_draft_id", "cited_package_id", "contact_name", "contact_phone",
                                             "contact_erased_at", "photo_key", "voice_key", "voice_transcript",
                                             "entered_by", "version")}
        item["received"] = day(local_date(rec.received_at))
        item["due_date"] = day(rec.due_date)
        item["overdue"] = fb.overdue(rec)
        notes = fb.notes(s, user.username, feedback_id)
        duplicates = fb.suggest_duplicates(s, feedback_id)
    return render(request, "feedback_item.html", it=item, names=tree_names, cats=_cat_names(lang), notes=notes,
                  duplicates=duplicates)


@router.post("/feedback/{feedback_id}/{action}")
async def item_action(request: Request, feedback_id: int, action: str) -> Response:
    """One handling step; a refused step re-shows the item with the reason, nothing changed."""
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action '{action}'")
    form = await checked_form(request)
    lang = lang_of(request)
    if action == "transcribe":
        return await _transcribe(request, feedback_id, lang)
    try:
        with session() as s:
            who = session_user(request, s).username
            if action == "assign":
                fb.assign(s, feedback_id, actor=who, assignee=form.get("assignee", "").strip() or None)
            elif action == "start":
                fb.start(s, feedback_id, actor=who)
            elif action == "answer":
                fb.answer(s, feedback_id, actor=who, text=form.get("answer", ""))
            elif action == "close":
                fb.close(s, feedback_id, actor=who)
            elif action == "reopen":
                fb.reopen(s, feedback_id, actor=who)
            elif action == "reject":
                dup = form.get("duplicate_of", "").strip()
                fb.reject(s, feedback_id, actor=who, reason=form.get("reason", ""), note=form.get("note", ""),
                          duplicate_of=int(dup) if dup.isdigit() else None)
            elif action == "transfer":
                fb.transfer(s, feedback_id, actor=who, to_unit=form.get("unit", "").strip(), note=form.get("note", ""))
            elif action == "note":
                fb.add_note(s, feedback_id, actor=who, text=form.get("note", ""))
            else:
                draft_id = fb.answer_on_air(s, object_store(), feedback_id, actor=who)
                flash(request, "ok", f"{translate(lang, 'fb_bulletin_draft')}: #{draft_id}")
                return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
    except FeedbackError as exc:
        if exc.code == "forbidden":
            raise Forbidden(str(exc)) from None
        flash(request, "error", error_text(lang, exc))
        return RedirectResponse(f"/feedback/{feedback_id}", status_code=303)
    except InvalidTransition as exc:  # e.g. a second click, or another handler acted first
        flash(request, "error", translate(lang, "fb_not_now").format(state=translate(lang, f"fb_st_{exc.current}")))
        return RedirectResponse(f"/feedback/{feedback_id}", status_code=303)
    flash(request, "ok", translate(lang, "fb_done"))
    if action == "transfer":
        return RedirectResponse("/feedback", status_code=303)
    return RedirectResponse(f"/feedback/{feedback_id}", status_code=303)


async def _transcribe(request: Request, feedback_id: int, lang: str) -> Response:
    """Queue Whisper for the item's voice message (again): a flow run, like the one started on upload."""
    with session() as s:
        who = session_user(request, s).username
        try:
            rec = fb.get_for(s, who, feedback_id)  # only the item's handlers
        except FeedbackError as exc:
            raise Forbidden(str(exc)) from None
        has_voice = bool(rec.voice_key)
    if not has_voice:
        flash(request, "error", translate(lang, "fb_err_no_voice"))
    else:
        try:
            await start(request, "transcribe_feedback", feedback_id, who)
            flash(request, "ok", translate(lang, "fb_transcribe_queued"))
        except RunRefused as exc:
            flash(request, "error", translate(lang, exc.key))
    return RedirectResponse(f"/feedback/{feedback_id}", status_code=303)


@router.get("/feedback/{feedback_id}/media/{kind}")
def item_media(request: Request, feedback_id: int, kind: str) -> Response:
    """The photo or voice message, for the item's handlers only (never cached by shared caches)."""
    with session() as s:
        user = session_user(request, s)
        try:
            rec = fb.get_for(s, user.username, feedback_id)
        except FeedbackError as exc:
            raise Forbidden(str(exc)) from None
        key, media_type = (rec.photo_key, rec.photo_type) if kind == "photo" else \
            (rec.voice_key, rec.voice_type) if kind == "voice" else (None, None)
    if not key:
        raise NotFound(translate(lang_of(request), "not_found"))
    return Response(object_store().get_bytes(key), media_type=media_type or "application/octet-stream",
                    headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})

