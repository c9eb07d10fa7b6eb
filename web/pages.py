"""Server-rendered pages for editors and approvers."""

import os
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from domain.cap import EXPORTABLE as CAP_EXPORTABLE
from domain.drafts import DraftRevision, SourceKind
from domain.errors import ApprovalRefused, DomainError, InvalidInput, InvalidTransition, ManifestMismatch, NotFound
from domain.intake import IntakeResult
from domain.intake_policy import CleaningNeedsConfirmation, DraftAllBoilerplate, TitleNeeded, kept_lines_of
from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.packages import WITHDRAWABLE, AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority
from engines.errors import EngineError
from services import approvals as approval_service
from services import areas as area_service
from services import auth, intake
from services import drafts as draft_service
from services import progress as progress_service
from services import translations as translation_service
from services.packages import current_package_id, draft_rejections, package_view
from services.runtime import object_store, session
from storage.repositories import drafts, packages, users
from web import asset_pages, login_pages, variant_pages
from web.access import package_areas, require, session_user, visible
from web.app import flash, lang_of, render
from web.area_labels import names_by_code
from web.error_pages import error_page
from web.forms import checked_form  # noqa: F401 (other page modules import it from here)
from web.i18n import VN_TZ, translate
from web.jobs import RunRefused, start
from web.officer_text import error_text, language_name, officer_message
from web.uploads import saved_upload

router = APIRouter(include_in_schema=False)


async def _start_kept(request: Request, which: str, arg: int, user: str = "") -> bool:
    """Start a flow after the user's change was committed: a refusal (too many waiting runs, no Prefect
    server) is shown as a message on the next page, never as an error page hiding the saved change (the sweeper
    also starts a lost publication by itself)."""
    try:
        await start(request, which, arg, user)
    except RunRefused as exc:
        flash(request, "error", translate(lang_of(request), exc.key))
        return False
    return True


def _submit_text(req: draft_service.DraftRequest) -> tuple[DraftRevision, IntakeResult]:
    with session() as s:
        return draft_service.submit_cleaned_text_draft(s, object_store(), req)


NOT_PRODUCED = "submitted"  # what the draft list shows for a draft with no package yet (``st_submitted``)


def _status_of(s: Session, draft_id: int) -> tuple[str, int | None]:
    """The draft's latest package's status (a :class:`PackageStatus` value), or :data:`NOT_PRODUCED`, and
    that package's id."""
    pkgs = packages.packages_of_draft(s, draft_id)
    return (PackageStatus(pkgs[-1].status).value, pkgs[-1].id) if pkgs else (NOT_PRODUCED, None)


@router.get("/")
def draft_list(request: Request) -> Response:
    with session() as s:
        user = session_user(request, s)
        shown = [r for r in drafts.list_drafts(s, limit=200) if visible(s, user, list(r.area_codes))]
        names = names_by_code(s, [c for r in shown for c in r.area_codes])  # one lookup for the page
        rows = [
            {"draft_id": r.draft_id, "number": r.number, "title": r.title, "priority": r.priority,
             "status": status, "package_id": package_id, "areas": names.of(r.area_codes),
             "created": r.created_at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")}
            for r in shown
            for status, package_id in [_status_of(s, r.draft_id)]
        ]
        failed = progress_service.failed_publications(
            s, [pid for r in rows if isinstance(pid := r["package_id"], int)])
        for row in rows:
            row["publication_failed"] = row["package_id"] in failed
        return render(request, "drafts.html", rows=rows)


@router.get("/drafts/new")
def draft_form(request: Request) -> Response:
    with session() as s:
        user = session_user(request, s)
        auth.require_anywhere(s, user, "draft.create")  # refused before anything is typed (the POST checks the areas)
        home_area = next((m.area_code for m in users.memberships_of(user) if m.area_code), "")
        return render(request, "draft_new.html", form={"area": home_area})


@router.post("/drafts")
async def draft_create(request: Request) -> Response:
    """A text draft, or a recording that is transcribed into revision 1 for the editor to correct."""
    form = await checked_form(request)
    upload = (await request.form()).get("recording")
    has_recording = upload is not None and not isinstance(upload, str) and bool(upload.filename)
    with session() as s:
        user = session_user(request, s)
        try:  # codes, or names ("Châu Thành, Vĩnh Long"; several separated by ';')
            areas = area_service.codes_from_option(s, form.get("area", ""))
        except DomainError as exc:
            flash(request, "error", str(exc))
            return render(request, "draft_new.html", status_code=422, form=form)
        require(s, user, "draft.create", area_codes=areas)
        username = user.username
    keep = tuple(int(v) for v in (await request.form()).getlist("keep") if isinstance(v, str) and v.isdigit())
    title = form.get("title", "")
    if has_recording and not title.strip():  # not "Ghi âm recording" (the name of the saved upload)
        title = translate(lang_of(request), "recording_title").format(
            when=datetime.now(VN_TZ).strftime("%H:%M %d/%m/%Y"))
    req = draft_service.DraftRequest(
        title=title, body=form.get("body", ""), area_codes=areas,
        languages=form.get("languages", "vi") or "vi", priority=form.get("priority", "thuong"),
        author=username, source_ref=form.get("source_ref", ""), requesting_unit=form.get("requesting_unit", ""),
        confirm_cleaning=bool(form.get("confirm_cleaning")), keep_lines=keep,
    )
    cleaning = None
    try:
        # An empty title is taken from the text's headline by the intake cleaning (or asked for: TitleNeeded).
        if has_recording:
            assert upload is not None and not isinstance(upload, str)
            async with saved_upload(upload, "recording") as path:  # Whisper runs in the threadpool
                rev, _ = await run_in_threadpool(draft_service.submit_audio_draft, session, object_store(), req, path)
        else:
            rev, cleaning = await run_in_threadpool(_submit_text, req)
    except (DraftAllBoilerplate, CleaningNeedsConfirmation, TitleNeeded) as exc:
        # The form comes back with the removed lines, each with "keep this line", and what to do next.
        flash(request, "error", _cleaning_refusal(lang_of(request), exc))
        return render(request, "draft_new.html", status_code=422, form=form, keep=set(keep),
                      removed=exc.result.removed if exc.result else (),
                      needs_confirm=isinstance(exc, CleaningNeedsConfirmation),
                      title_needed=isinstance(exc, TitleNeeded))
    except (DomainError, EngineError) as exc:  # show the form again with the message, keeping what was typed
        flash(request, "error", error_text(lang_of(request), exc))
        return render(request, "draft_new.html", status_code=422, form=form)
    if cleaning is not None and cleaning.removed:
        flash(request, "info", f"{translate(lang_of(request), 'cleaning_removed')}: {len(cleaning.removed)}")
    if form.get("produce") and not has_recording:  # a transcript is corrected by the editor before production
        if await _start_kept(request, "produce", rev.draft_id, username):
            flash(request, "info", translate(lang_of(request), "producing_started"))
    elif has_recording:
        flash(request, "info", translate(lang_of(request), "transcript_ready"))
    else:
        flash(request, "info", translate(lang_of(request), "flash_draft_saved"))
    return RedirectResponse(f"/drafts/{rev.draft_id}", status_code=303)


def _kept_note(lang: str, note: str) -> str:
    """A revision's note for the officer: the lines kept back in words, any other note as written."""
    kept = kept_lines_of(note)
    return translate(lang, "kept_lines_note").format(lines=", ".join(map(str, sorted(kept)))) if kept else note


def _cleaning_refusal(lang: str, exc: DraftAllBoilerplate | CleaningNeedsConfirmation | TitleNeeded) -> str:
    """What the cleaning refusal asks of the editor, in their language (the lines are listed on the form)."""
    if isinstance(exc, CleaningNeedsConfirmation):
        return translate(lang, "cleaning_needs_confirm").format(removed=exc.result.lines_removed,
                                                                total=exc.result.content_lines)
    return translate(lang, "title_needed_refusal" if isinstance(exc, TitleNeeded) else "cleaning_all_boilerplate")


@router.get("/drafts/{draft_id}")
def draft_page(request: Request, draft_id: int) -> Response:
    return _draft_page(request, draft_id)


def _draft_page(request: Request, draft_id: int, edit_form: dict[str, str] | None = None,
                status_code: int = 200) -> Response:
    """The draft with its packages and rejections; ``edit_form``: a correction to show again (refused)."""
    with session() as s:
        user = session_user(request, s)
        rev = drafts.latest_revision(s, draft_id)
        require(s, user, "draft.view", area_codes=list(rev.content.area_codes))
        pkgs = packages.packages_of_draft(s, draft_id)
        can_edit = auth.can(s, user, "draft.create", area_codes=list(rev.content.area_codes))
        can_produce = can_edit and (
            not pkgs or pkgs[-1].revision_id != drafts.latest_revision_record(s, draft_id).id
            or pkgs[-1].status == PackageStatus.FAILED)
        report = intake.report_of(object_store(), rev)
        rejections = draft_rejections(s, draft_id)
        for r in rejections:
            r["at"] = r["at"].replace(tzinfo=r["at"].tzinfo or UTC).astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
        warnings = [w.text(lang_of(request)) for w in intake.freshness_of(object_store(), rev)]
        return render(request, "draft.html", status_code=status_code, rev=rev, pkgs=pkgs, can_produce=can_produce,
                      can_edit=can_edit, rejections=rejections, removed=report.removed if report else (),
                      warnings=warnings, kept_note=_kept_note(lang_of(request), rev.note),
                      language_names=[language_name(lang_of(request), c) for c in rev.content.languages],
                      edit_form=edit_form or {"title": rev.content.title, "body": rev.content.body},
                      recording_url=f"/drafts/{draft_id}/recording" if rev.source_key and
                      rev.source_kind is SourceKind.AUDIO else None)


@router.post("/drafts/{draft_id}/edit")
async def draft_edit(request: Request, draft_id: int) -> Response:
    """Append a corrected revision (e.g. of a machine transcript); earlier revisions stay as they were."""
    form = await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        require(s, user, "draft.create", area_codes=list(drafts.latest_revision(s, draft_id).content.area_codes))
        try:
            draft_service.edit_draft_fields(s, object_store(), draft_id=draft_id, title=form.get("title", ""),
                                            body=form.get("body", ""), author=user.username)
        except InvalidInput as exc:
            failed: Exception | None = exc
        else:
            failed = None
    if failed is not None:  # the draft again, with the correction as typed and what is wrong with it
        flash(request, "error", error_text(lang_of(request), failed))
        return _draft_page(request, draft_id, edit_form=form, status_code=422)
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.post("/drafts/{draft_id}/keep")
async def draft_keep_lines(request: Request, draft_id: int) -> Response:
    """Put back lines the intake cleaning removed ("keep this line"): a new revision."""
    await checked_form(request)
    lines = [int(v) for v in (await request.form()).getlist("keep") if isinstance(v, str) and v.isdigit()]
    with session() as s:
        user = session_user(request, s)
        require(s, user, "draft.create", area_codes=list(drafts.latest_revision(s, draft_id).content.area_codes))
        try:
            draft_service.keep_removed_lines(s, object_store(), draft_id=draft_id, lines=lines, author=user.username)
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
        username = user.username
    await start(request, "produce", draft_id, username)
    flash(request, "info", translate(request.cookies.get("lang", "vi"), "producing_started"))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.get("/packages/{package_id}/cap.xml")
def package_cap(request: Request, package_id: int) -> Response:
    """An approved emergency as a CAP 1.2 alert, for the provincial warning systems (``bantin cap export``)."""
    from services.emergency import cap_xml

    with session() as s:
        user = session_user(request, s)
        require(s, user, "package.view", area_codes=package_areas(s, package_id))
        xml = cap_xml(s, object_store(), package_id)
    return Response(xml, media_type="application/xml", headers={
        "Content-Disposition": f'attachment; filename="bantin-{package_id}-cap.xml"'})


@router.get("/packages/{package_id}")
def package_page(request: Request, package_id: int) -> Response:
    return _package_page(request, package_id)


def _package_page(request: Request, package_id: int, typed: dict[str, str] | None = None,
                  status_code: int = 200) -> Response:
    """The package; ``typed``: a refused decision's form to show again, open, with what was typed
    (``decision``: ``reject`` or ``withdraw``, ``reason``)."""
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
            var["can_record"] = may_edit and var["status"] == VariantStatus.READY
            var["can_change"] = variant_pages.may_change(s, package_id, str(var["language"]), user.username)
            var["voice"] = variant_pages.voice_of(s, package_id, str(var["language"]))
        can_withdraw = v["status"] in WITHDRAWABLE and auth.can(
            s, user, "package.approve", area_codes=areas)
        show_runs = auth.can(s, user, "admin", area_codes=areas)  # the workflow runs are for administrators
        state = approval_service.approval_state(s, package_id)
        area_names = area_service.area_names(s, list(v["areas"]))
        names = area_service.area_names(s, [r.area_code for r in state.remaining])
        remaining = [f"{translate(lang_of(request), 'lvl_' + r.level.value)} · {name}"
                     for r, name in zip(state.remaining, names, strict=True)]
        device_rows = device_status_block(s, package_id, v, areas)
        revision = drafts.revision_by_id(s, packages.get_package(s, package_id).revision_id)
        from web.progress_pages import progress_view

        progress = progress_view(s, package_id, user, lang_of(request))
        v["publication_failed"] = package_id in progress_service.failed_publications(s, [package_id])
    v["cap"] = v["priority"] == Priority.KHAN_CAP and PackageStatus(v["status"]) in CAP_EXPORTABLE
    warnings = [w.text(lang_of(request)) for w in intake.freshness_of(store, revision)]
    order = {AssetKind.SCRIPT: 0, AssetKind.SPEECH_TEXT: 1, AssetKind.AUDIO: 2, AssetKind.BOARD_TEXT: 3,
             AssetKind.SLIDE: 4}
    v["variants"].sort(key=lambda var: (var["language"] != SOURCE_LANGUAGE, var["language"]))
    lang = lang_of(request)
    refusal = officer_message(lang, refusal, fallback="err_generic_refused") if refusal else None
    v["error"] = officer_message(lang, str(v["error"]), fallback="err_production") if v.get("error") else None
    for var in v["variants"]:
        var["blocked_reason"] = officer_message(lang, var["blocked_reason"], fallback="err_blocked") \
            if var["blocked_reason"] else ""
        var["language_name"] = language_name(lang, var["language"])
        var["assets"].sort(key=lambda a: order.get(a["kind"], 9))
        for a in var["assets"]:
            if a["kind"] in (AssetKind.SCRIPT, AssetKind.SPEECH_TEXT, AssetKind.BOARD_TEXT):
                a["text"] = store.get_bytes(a["key"]).decode("utf-8")
    for a in v["approvals"]:
        a["at"] = datetime.fromisoformat(a["at"]).astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
    for r in v["flow_runs"]:
        r["at"] = datetime.fromisoformat(r["at"]).astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
    prefect_ui = os.environ.get("PREFECT_UI_URL", "").rstrip("/")
    return render(request, "package.html", status_code=status_code, typed=typed or {}, v=v,
                  can_approve=can_approve, refusal=refusal, remaining=remaining, area_names=area_names,
                  can_withdraw=can_withdraw, prefect_ui=prefect_ui, show_runs=show_runs,
                  device_rows=device_rows, warnings=warnings, progress=progress)


def device_status_block(s: Session, package_id: int, v: dict[str, object], areas: list[str]) -> dict[str, object]:
    """Devices the package reaches (with emergency acknowledgements and plays) and withdrawal notices."""
    from domain.deliveries import OutboxKind
    from services.devices import package_device_status
    from storage.repositories import outbox

    rows = package_device_status(s, str(v.get("manifest_hash") or ""), areas)
    for r in rows:
        r["acked"] = r["acked_at"].astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if r["acked_at"] else ""
    return {"devices": rows, "unconfirmed": [r for r in rows if not r["acked_at"]],
            "emergency": v.get("priority") == Priority.KHAN_CAP,
            "retractions": [{"destination": t.name, "action": r.action, "status": r.status, "attempts": r.attempts,
                             "receipt_id": r.receipt_id, "last_error": r.last_error}
                            for r, t in outbox.of_package(s, package_id, OutboxKind.RETRACTION)]}


@router.post("/packages/{package_id}/approve")
async def package_approve(request: Request, package_id: int) -> Response:
    form = await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        require(s, user, "package.approve", area_codes=package_areas(s, package_id))
        try:
            approval_service.approve_package(s, package_id=package_id, username=user.username,
                                             reviewed_hash=form.get("manifest_hash") or None)
        except (ApprovalRefused, ManifestMismatch) as exc:
            refused: Exception | None = exc
            current = current_package_id(s, package_id)
        else:
            refused, current = None, None
        status = packages.get_package(s, package_id).status
    if refused is not None:
        return _refused_page(request, refused, current)
    if status == PackageStatus.APPROVED:
        if await _start_kept(request, "publish", package_id):  # approval starts publication
            flash(request, "info", translate(lang_of(request), "flash_approved_publishing"))
    else:  # another level still has to approve
        flash(request, "info", translate(lang_of(request), "flash_approval_recorded"))
    return RedirectResponse(f"/packages/{package_id}", status_code=303)


def _refused_page(request: Request, exc: Exception, current: int | None) -> Response:
    """A refused decision as a page that says why and, for a replaced package, links to the one in force."""
    lang = lang_of(request)
    if current is not None:
        return error_page(request, 409, translate(lang, "stale_package"), link=f"/packages/{current}",
                          link_text=translate(lang, "open_current_package"))
    return error_page(request, 409 if isinstance(exc, ManifestMismatch) else 403, error_text(lang, exc),
                      link=request.url.path.rsplit("/", 1)[0], link_text=translate(lang, "package"))


async def _decide(request: Request, package_id: int, which: str,
                  decide: Callable[[Session, str, dict[str, str]], object]) -> Response | None:
    """Shared by the approver's decisions: CSRF, sign-in, approval rights over the areas, then ``decide``; a
    refused input (no reason) is the package page again with the form open and what was typed (else None)."""
    form = await checked_form(request)
    with session() as s:
        user = session_user(request, s)
        require(s, user, "package.approve", area_codes=package_areas(s, package_id))
        try:
            decide(s, user.username, form)
        except InvalidInput as exc:
            failed: Exception | None = exc
        else:
            failed = None
    if failed is None:
        return None
    flash(request, "error", error_text(lang_of(request), failed))
    return _package_page(request, package_id, typed={f"open_{which}": "1", "reason": form.get("reason", "")},
                         status_code=422)


@router.post("/packages/{package_id}/reject")
async def package_reject(request: Request, package_id: int) -> Response:
    refused = await _decide(request, package_id, "reject", lambda s, username, form: approval_service.reject_package(
        s, package_id=package_id, username=username, reason=form.get("reason", "")))
    if refused is not None:
        return refused
    flash(request, "info", translate(lang_of(request), "flash_rejected"))
    return RedirectResponse(f"/packages/{package_id}", status_code=303)


@router.post("/packages/{package_id}/withdraw")
async def package_withdraw(request: Request, package_id: int) -> Response:
    """Withdraw (or kill) a package that is approved, scheduled or on the air."""
    refused = await _decide(request, package_id, "withdraw", lambda s, username, form:
                            approval_service.withdraw_package(s, package_id=package_id, username=username,
                                                              reason=form.get("reason", ""),
                                                              kill=form.get("kill") == "1"))
    if refused is not None:
        return refused
    flash(request, "info", translate(lang_of(request), "flash_withdrawn"))
    await _start_kept(request, "retract", package_id)  # devices now (MQTT stop for emergencies), then destinations
    return RedirectResponse(f"/packages/{package_id}", status_code=303)


@router.get("/queue")
def approval_queue_page(request: Request) -> Response:
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
        r["language_name"] = language_name(lang_of(request), str(r["language"]))
    return render(request, "translations.html", rows=rows)


def _translate_page(request: Request, package_id: int, language: str, form: dict[str, str],
                    status_code: int = 200) -> Response:
    store = object_store()
    with session() as s:
        user = session_user(request, s)
        areas = package_areas(s, package_id)
        require(s, user, "variant.edit", area_codes=areas, language=language)
        try:
            translation_service.check_translatable(s, package_id, language)
        except (NotFound, InvalidTransition) as exc:
            if status_code != 200:  # the typed text stays on the page even when it can no longer be sent
                flash(request, "error", error_text(lang_of(request), exc))
            elif isinstance(exc, InvalidTransition):
                return _refused_page(request, exc, current_package_id(s, package_id))
            else:
                return error_page(request, 404, error_text(lang_of(request), exc))
        pkg = packages.get_package(s, package_id)
        title = drafts.revision_by_id(s, pkg.revision_id).content.title
        src = {kind: packages.get_asset(s, package_id=package_id, language=SOURCE_LANGUAGE, kind=kind)
               for kind in (AssetKind.SCRIPT, AssetKind.BOARD_TEXT)}
    script, board = src[AssetKind.SCRIPT], src[AssetKind.BOARD_TEXT]
    if language not in LANGUAGES or script is None or board is None:
        raise NotFound("no such variant to translate")
    return render(request, "translate.html", status_code=status_code, package_id=package_id, language=language,
                  language_name=language_name(lang_of(request), language), title=title, form=form,
                  source_script=store.get_bytes(script.key).decode("utf-8"),
                  source_board=store.get_bytes(board.key).decode("utf-8"))


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
                if kind is AssetKind.BOARD_TEXT:
                    form["title"] = str(asset.meta.get("title") or "")
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
                board_text=form.get("board_text", ""), translator=user.username, title=form.get("title", "")))
        except (InvalidInput, ApprovalRefused) as exc:
            flash(request, "error", error_text(lang_of(request), exc))
            failed = True
        else:
            failed = False
        username = user.username
    if failed:
        return _translate_page(request, package_id, language, form, status_code=422)
    if await _start_kept(request, "produce", draft_id, username):
        flash(request, "info", translate(lang_of(request), "translation_received"))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


router.include_router(login_pages.router)
router.include_router(asset_pages.router)
router.include_router(variant_pages.router)
router.include_router(variant_pages.api_router)
