"""Server-rendered pages for editors and approvers."""

import mimetypes
import os
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import DomainError, InvalidInput, NotFound
from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.packages import AssetKind, PackageStatus
from engines.errors import EngineError
from services import approvals as approval_service
from services import auth, credentials
from services import drafts as draft_service
from services import translations as translation_service
from services.packages import package_view
from services.runtime import object_store, session
from storage.models import AssetRecord, UserRecord
from storage.repositories import drafts, packages, users
from web.access import package_areas, require, session_user, visible
from web.app import Forbidden, LoginRequired, csrf_token, flash, lang_of, render
from web.i18n import VN_TZ, translate
from web.security import client_address, csrf_matches
from web.uploads import saved_upload

router = APIRouter(include_in_schema=False)


async def checked_form(request: Request) -> dict[str, str]:
    """The POSTed form, after checking its CSRF token against the session's."""
    form = await request.form()
    if not csrf_matches(request.session.get("csrf"), str(form.get("csrf", ""))):
        raise Forbidden("csrf")
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _client(request: Request) -> str:
    """The client's address for the login throttle: X-Forwarded-For counts only from a configured proxy."""
    peer = request.client.host if request.client else "-"
    return client_address(peer, request.headers.get("x-forwarded-for"), request.app.state.trusted_proxies)


@router.get("/login")
def login_page(request: Request) -> Response:
    return render(request, "login.html")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await checked_form(request)
    username, password = form.get("username", "").strip(), form.get("password", "")
    throttle = request.app.state.throttle
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "vi"
    if throttle.blocked(username, _client(request)):
        flash(request, "error", translate(lang, "login_throttled"))
        return render(request, "login.html", status_code=429, username=username)
    with session() as s:
        user = auth.authenticate(s, username, password)
        uid = user.id if user else None
    if uid is None:
        throttle.failed(username, _client(request))
        flash(request, "error", translate(lang, "login_failed"))
        return render(request, "login.html", status_code=401, username=username)
    throttle.succeeded(username, _client(request))
    with session() as s:
        user = s.get(UserRecord, uid)
        if user is None:
            raise LoginRequired()
        sid = credentials.open_session(s, user, via="web")
    request.session.clear()  # a new session on login: no fixation
    request.session["sid"] = sid
    csrf_token(request)
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await checked_form(request)
    with session() as s:
        credentials.close_session(s, request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _status_of(s, draft_id: int) -> str:  # type: ignore[no-untyped-def]
    pkgs = packages.packages_of_draft(s, draft_id)
    return pkgs[-1].status if pkgs else "submitted"


@router.get("/")
def draft_list(request: Request) -> Response:
    with session() as s:
        user = session_user(request, s)
        rows = [
            {"draft_id": r.draft_id, "number": r.number, "title": r.title, "priority": r.priority,
             "status": _status_of(s, r.draft_id), "areas": ", ".join(r.area_codes),
             "created": r.created_at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")}
            for r in drafts.list_drafts(s, limit=200) if visible(s, user, list(r.area_codes))
        ]
        return render(request, "drafts.html", rows=rows)


@router.get("/drafts/new")
def draft_form(request: Request) -> Response:
    with session() as s:
        user = session_user(request, s)
        home_area = next((m.area_code for m in users.memberships_of(user) if m.area_code), "")
        return render(request, "draft_new.html", form={"area": home_area})


@router.post("/drafts")
async def draft_create(request: Request) -> Response:
    """A text draft, or a recording that is transcribed into revision 1 for the editor to correct."""
    form = await checked_form(request)
    upload = (await request.form()).get("recording")
    has_recording = upload is not None and not isinstance(upload, str) and bool(upload.filename)
    areas = [a.strip() for a in form.get("area", "").split(",") if a.strip()]
    with session() as s:
        user = session_user(request, s)
        require(s, user, "draft.create", area_codes=areas)
        username = user.username
    req = draft_service.DraftRequest(
        title=form.get("title", ""), body=form.get("body", ""), area_codes=areas,
        languages=form.get("languages", "vi") or "vi", priority=form.get("priority", "thuong"),
        author=username, source_ref=form.get("source_ref", ""), requesting_unit=form.get("requesting_unit", ""),
    )
    try:
        if has_recording:
            assert upload is not None and not isinstance(upload, str)
            async with saved_upload(upload, "recording") as path:
                rev, _ = draft_service.submit_audio_draft(session, object_store(), req, path)
        else:
            with session() as s:
                rev = draft_service.submit_text_draft(s, object_store(), req)
    except (DomainError, EngineError) as exc:  # show the form again with the message, keeping what was typed
        flash(request, "error", str(exc))
        return render(request, "draft_new.html", status_code=422, form=form)
    if form.get("produce") and not has_recording:  # a transcript is corrected by the editor before production
        request.app.state.flows.produce(rev.draft_id)
        flash(request, "info", translate(lang_of(request), "producing_started"))
    elif has_recording:
        flash(request, "info", translate(lang_of(request), "transcript_ready"))
    return RedirectResponse(f"/drafts/{rev.draft_id}", status_code=303)


@router.get("/drafts/{draft_id}")
def draft_page(request: Request, draft_id: int) -> Response:
    with session() as s:
        user = session_user(request, s)
        rev = drafts.latest_revision(s, draft_id)
        require(s, user, "draft.view", area_codes=list(rev.content.area_codes))
        pkgs = packages.packages_of_draft(s, draft_id)
        can_edit = auth.can(s, user, "draft.create", area_codes=list(rev.content.area_codes))
        can_produce = can_edit and (
            not pkgs or pkgs[-1].revision_id != drafts.latest_revision_record(s, draft_id).id
            or pkgs[-1].status == PackageStatus.FAILED)
        return render(request, "draft.html", rev=rev, pkgs=pkgs, can_produce=can_produce, can_edit=can_edit,
                      recording_url=f"/drafts/{draft_id}/recording" if rev.source_key and
                      rev.source_kind.value == "audio" else None)


@router.post("/drafts/{draft_id}/edit")
async def draft_edit(request: Request, draft_id: int) -> Response:
    """Append a corrected revision (e.g. of a machine transcript); earlier revisions stay as they were."""
    form = await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        require(s, user, "draft.create", area_codes=list(drafts.latest_revision(s, draft_id).content.area_codes))
        text = f"{form.get('title', '').strip()}\n{form.get('body', '')}"
        try:
            draft_service.edit_draft(s, object_store(), draft_id=draft_id, text=text, author=user.username)
        except InvalidInput as exc:
            flash(request, "error", str(exc))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.post("/drafts/{draft_id}/produce")
async def draft_produce(request: Request, draft_id: int) -> Response:
    await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        rev = drafts.latest_revision(s, draft_id)
        require(s, user, "draft.create", area_codes=list(rev.content.area_codes))
    request.app.state.flows.produce(draft_id)
    flash(request, "info", translate(request.cookies.get("lang", "vi"), "producing_started"))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.get("/drafts/{draft_id}/recording")
def draft_recording(request: Request, draft_id: int) -> Response:
    """The editor's original recording of an audio draft, to listen to while correcting the transcript."""
    with session() as s:
        user = session_user(request, s)
        rev = drafts.latest_revision(s, draft_id)
        require(s, user, "draft.view", area_codes=list(rev.content.area_codes))
    if rev.source_kind.value != "audio" or not rev.source_key:
        raise NotFound("this draft has no recording")
    data = object_store().get_bytes(rev.source_key)
    return Response(data, media_type=mimetypes.guess_type(rev.source_key)[0] or "application/octet-stream")


@router.get("/packages/{package_id}")
def package_page(request: Request, package_id: int) -> Response:
    store = object_store()
    with session() as s:
        user = session_user(request, s)
        areas = package_areas(s, package_id)
        require(s, user, "package.view", area_codes=areas)
        v = package_view(s, store, package_id)
        refusal = None
        can_approve = False
        if v["status"] == PackageStatus.IN_REVIEW and auth.can(s, user, "package.approve", area_codes=areas):
            refusal = approval_service.approval_refusal(s, package_id=package_id, username=user.username)
            can_approve = refusal is None
        for var in v["variants"]:
            may_edit = v["status"] == PackageStatus.IN_REVIEW and auth.can(
                s, user, "variant.edit", area_codes=areas, language=var["language"])
            # A person may fill a blocked variant, or correct one already made, in any language but the source
            # (the source text is corrected by editing the draft).
            var["can_translate"] = may_edit and var["language"] != SOURCE_LANGUAGE
            var["can_record"] = may_edit and var["status"] == "ready"
        can_withdraw = v["status"] in ("approved", "scheduled", "published", "corrected") and auth.can(
            s, user, "package.approve", area_codes=areas)
        state = approval_service.approval_state(s, package_id)
        remaining = [f"{r.level.value} · {r.area_code}" for r in state.remaining]
        device_rows = device_status_block(s, package_id, v, areas)
    order = {"script": 0, "audio": 1, "board_text": 2, "slide": 3}
    v["variants"].sort(key=lambda var: (var["language"] != SOURCE_LANGUAGE, var["language"]))
    for var in v["variants"]:
        var["language_name"] = LANGUAGES[var["language"]].name_vi if var["language"] in LANGUAGES else var["language"]
        var["assets"].sort(key=lambda a: order.get(a["kind"], 9))
        for a in var["assets"]:
            if a["kind"] in ("script", "board_text"):
                a["text"] = store.get_bytes(a["key"]).decode("utf-8")
    for a in v["approvals"]:
        a["at"] = datetime.fromisoformat(a["at"]).astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
    for r in v["flow_runs"]:
        r["at"] = datetime.fromisoformat(r["at"]).astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
    prefect_ui = os.environ.get("PREFECT_UI_URL", "").rstrip("/")
    return render(request, "package.html", v=v, can_approve=can_approve, refusal=refusal, remaining=remaining,
                  can_withdraw=can_withdraw, prefect_ui=prefect_ui, device_rows=device_rows)


def device_status_block(s: Session, package_id: int, v: dict[str, object], areas: list[str]) -> dict[str, object]:
    """Devices the package reaches (with emergency acknowledgements and plays) and withdrawal notices."""
    from services.devices import package_device_status
    from storage.repositories.deliveries import retractions_of

    rows = package_device_status(s, str(v.get("manifest_hash") or ""), areas)
    for r in rows:
        r["acked"] = r["acked_at"].astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if r["acked_at"] else ""
    return {"devices": rows, "unconfirmed": [r for r in rows if not r["acked_at"]],
            "emergency": v.get("priority") == "khan_cap",
            "retractions": [{"destination": t.name, "action": r.action, "status": r.status, "attempts": r.attempts,
                             "receipt_id": r.receipt_id, "last_error": r.last_error}
                            for r, t in retractions_of(s, package_id)]}


@router.post("/packages/{package_id}/approve")
async def package_approve(request: Request, package_id: int) -> Response:
    form = await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        require(s, user, "package.approve", area_codes=package_areas(s, package_id))
        approval_service.approve_package(s, package_id=package_id, username=user.username,
                                         reviewed_hash=form.get("manifest_hash") or None)
        status = packages.get_package(s, package_id).status
    if status == PackageStatus.APPROVED:
        request.app.state.flows.publish(package_id)  # approval starts publication
    return RedirectResponse(f"/packages/{package_id}", status_code=303)


async def _decide(request: Request, package_id: int, decide: Callable[[Session, str, dict[str, str]], object]) -> None:
    """Shared by the approver's decisions: CSRF, sign-in, approval rights over the areas, then ``decide``."""
    form = await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        require(s, user, "package.approve", area_codes=package_areas(s, package_id))
        decide(s, user.username, form)


@router.post("/packages/{package_id}/reject")
async def package_reject(request: Request, package_id: int) -> Response:
    await _decide(request, package_id, lambda s, username, form: approval_service.reject_package(
        s, package_id=package_id, username=username, reason=form.get("reason", "")))
    return RedirectResponse(f"/packages/{package_id}", status_code=303)


@router.post("/packages/{package_id}/withdraw")
async def package_withdraw(request: Request, package_id: int) -> Response:
    """Withdraw (or kill) a package that is approved, scheduled or on the air."""
    await _decide(request, package_id, lambda s, username, form: approval_service.withdraw_package(
        s, package_id=package_id, username=username, reason=form.get("reason", ""), kill=form.get("kill") == "1"))
    request.app.state.flows.retract(package_id)  # devices now (MQTT stop for emergencies), then destinations
    return RedirectResponse(f"/packages/{package_id}", status_code=303)


@router.get("/queue")
def approval_queue(request: Request) -> Response:
    with session() as s:
        user = session_user(request, s)
        rows = [{"id": e.package_id, "title": e.title, "priority": e.priority, "areas": ", ".join(e.area_codes)}
                for e in approval_service.approval_queue(s, user.username)]
        return render(request, "queue.html", rows=rows)


@router.get("/translations")
def translation_queue(request: Request) -> Response:
    with session() as s:
        user = session_user(request, s)
        rows = translation_service.pending_translations(s, user.username)
    for r in rows:
        r["language_name"] = LANGUAGES[str(r["language"])].name_vi
    return render(request, "translations.html", rows=rows)


def _translate_page(request: Request, package_id: int, language: str, form: dict[str, str],
                    status_code: int = 200) -> Response:
    store = object_store()
    with session() as s:
        user = session_user(request, s)
        areas = package_areas(s, package_id)
        require(s, user, "variant.edit", area_codes=areas, language=language)
        pkg = packages.get_package(s, package_id)
        title = drafts.revision_by_id(s, pkg.revision_id).content.title
        src = {kind: packages.get_asset(s, package_id=package_id, language=SOURCE_LANGUAGE, kind=kind)
               for kind in (AssetKind.SCRIPT, AssetKind.BOARD_TEXT)}
    if language not in LANGUAGES or any(a is None for a in src.values()):
        raise NotFound("no such variant to translate")
    return render(request, "translate.html", status_code=status_code, package_id=package_id, language=language,
                  language_name=LANGUAGES[language].name_vi, title=title, form=form,
                  source_script=store.get_bytes(src[AssetKind.SCRIPT].key).decode("utf-8"),  # type: ignore[union-attr]
                  source_board=store.get_bytes(src[AssetKind.BOARD_TEXT].key).decode("utf-8"))  # type: ignore[union-attr]


@router.get("/packages/{package_id}/translate/{language}")
def translate_form(request: Request, package_id: int, language: str) -> Response:
    """The translation form, prefilled with the variant's current text when it has one (a correction)."""
    form: dict[str, str] = {}
    store = object_store()
    with session() as s:
        for field, kind in (("script", AssetKind.SCRIPT), ("board_text", AssetKind.BOARD_TEXT)):
            asset = packages.get_asset(s, package_id=package_id, language=language, kind=kind)
            if asset is not None:
                form[field] = store.get_bytes(asset.key).decode("utf-8")
    return _translate_page(request, package_id, language, form)


@router.post("/packages/{package_id}/translate/{language}")
async def translate_submit(request: Request, package_id: int, language: str) -> Response:
    form = await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        require(s, user, "variant.edit", area_codes=package_areas(s, package_id), language=language)
        try:
            draft_id = translation_service.submit_translation(s, object_store(), translation_service.TranslationRequest(
                package_id=package_id, language=language, script=form.get("script", ""),
                board_text=form.get("board_text", ""), translator=user.username))
        except InvalidInput as exc:
            flash(request, "error", str(exc))
            failed = True
        else:
            failed = False
    if failed:
        return _translate_page(request, package_id, language, form, status_code=422)
    request.app.state.flows.produce(draft_id)
    flash(request, "info", translate(lang_of(request), "translation_received"))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.post("/packages/{package_id}/recording/{language}")
async def recording_upload(request: Request, package_id: int, language: str) -> Response:
    """A person's recording replaces the synthetic voice of a variant; the package is produced again."""
    await checked_form(request)
    upload = (await request.form()).get("recording")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise InvalidInput("choose an audio file to upload")
    async with saved_upload(upload, "recording") as dest:
        with session() as s:
            user = session_user(request, s)
            require(s, user, "variant.edit", area_codes=package_areas(s, package_id), language=language)
            draft_id = translation_service.submit_recording(s, object_store(), translation_service.RecordingRequest(
                package_id=package_id, language=language, path=dest, uploaded_by=user.username))
    request.app.state.flows.produce(draft_id)
    flash(request, "info", translate(lang_of(request), "recording_received"))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.get("/assets/{key:path}")
def asset(request: Request, key: str) -> Response:
    """Serve an asset to a user who may view a package containing it (audio, slides)."""
    with session() as s:
        user = session_user(request, s)
        recs = list(s.scalars(select(AssetRecord).where(AssetRecord.key == key)))
        if not recs:
            raise NotFound("no such asset")
        if not any(auth.can(s, user, "package.view", area_codes=package_areas(s, r.package_id)) for r in recs):
            raise Forbidden("asset")
        media_type = recs[0].media_type
    data = object_store().get_bytes(key)
    return Response(data, media_type=media_type or mimetypes.guess_type(key)[0] or "application/octet-stream",
                    headers={"Cache-Control": "private, max-age=86400"})
