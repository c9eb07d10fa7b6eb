"""Citizens' feedback, public side: the phone-first intake page per area (no login), the tracking page,
and the JSON API. Handlers' pages are in ``web.feedback_handlers``; Open311 in ``web.open311``.

Abuse limits: a hidden honeypot field (filled only by bots: answered as if accepted, nothing stored),
rate limits per client and per area (``app.state.feedback_limits``, built on first use; tests put one
with a fake clock there), a request size cap, media checks in the service. Jinja2 escapes everything.
"""

import logging
import time
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from domain.errors import NotFound
from domain.feedback import Channel, FeedbackError, local_date, parse_tracking_code
from services import feedback_intake as intake
from services.feedback_config import FeedbackConfig, load_config
from services.runtime import object_store, session
from storage.repositories import areas as area_repo
from web.app import lang_of, render
from web.i18n import translate
from web.jobs import RunRefused, start
from web.security import csrf_matches

log = logging.getLogger(__name__)
router = APIRouter()
MAX_REQUEST_BYTES = 15 * 1024 * 1024
HONEYPOT = "website"  # a field hidden from people; bots fill it


def limits(request: Request) -> intake.IntakeLimits:
    found = getattr(request.app.state, "feedback_limits", None)
    if found is None:
        found = request.app.state.feedback_limits = intake.IntakeLimits.from_config(load_config(), time.monotonic)
    return found


def client_key(request: Request) -> str:
    return request.client.host if request.client else "-"


def error_text(lang: str, exc: FeedbackError) -> str:
    """The Vietnamese message, or its English text where one exists."""
    if lang == "en":
        text = translate("en", f"fb_err_{exc.code}")
        if text != f"fb_err_{exc.code}":
            return text
    return str(exc)


def day(value: date | str) -> str:
    """A date as Vietnamese pages write it: 21/12/2026."""
    return (date.fromisoformat(value) if isinstance(value, str) else value).strftime("%d/%m/%Y")


def _too_big(request: Request, limit: int = MAX_REQUEST_BYTES) -> bool:
    try:
        return int(request.headers.get("content-length", "0")) > limit
    except ValueError:
        return True


async def read_upload(upload: UploadFile | None, limit: int) -> bytes | None:
    """The upload's bytes (None when no file was chosen); reads at most ``limit + 1`` bytes."""
    if upload is None or not upload.filename:
        return None
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise FeedbackError("too_big", f"Tệp tải lên quá lớn (tối đa {limit // 1024 // 1024} MB).")
    return data


def _categories(cfg: FeedbackConfig, lang: str) -> list[tuple[str, str]]:
    return [(c.code, c.name(lang)) for c in cfg.categories]


def _intake_page(request: Request, area_code: str, status_code: int = 200, **ctx: object) -> Response:
    lang = lang_of(request)
    try:
        with session() as s:
            area = area_repo.get_area(s, area_code)
            cited = str(ctx.get("cited") or "")
            ctx["cited_title"] = intake.cited_bulletin_title(s, int(cited)) if cited.isdigit() and len(cited) < 16 \
                else None
    except NotFound:  # the repository's message names a CLI command: not for citizens
        message = "No area has this code: check the link or the QR code." if lang == "en" else \
            "Không có địa bàn này. Vui lòng kiểm tra lại đường dẫn hoặc mã QR."
        return render(request, "error.html", status_code=404, status=404, message=message,
                      final=True)  # already the citizen's words
    return render(request, "feedback_form.html", status_code=status_code, area=area,
                  categories=_categories(load_config(), lang), honeypot=HONEYPOT, **ctx)


# The tracking routes come first: /phan-anh/theo-doi would otherwise match /phan-anh/{area_code}.
@router.get("/phan-anh/theo-doi", include_in_schema=False)
def track_form(request: Request, ma: str = "") -> Response:
    if ma:
        try:
            return RedirectResponse(f"/phan-anh/theo-doi/{parse_tracking_code(ma)}", status_code=303)
        except FeedbackError as exc:
            return render(request, "feedback_track.html", status_code=422, error=error_text(lang_of(request), exc),
                          code=ma)
    return render(request, "feedback_track.html", code="")


@router.get("/phan-anh/theo-doi/{code}", include_in_schema=False)
def track_page(request: Request, code: str) -> Response:
    """The citizen's status page: state, due date, the answer, and the bulletin once it is on air."""
    lang = lang_of(request)
    try:
        with session() as s:
            st = intake.public_status(s, code)
    except FeedbackError as exc:
        return render(request, "feedback_track.html", status_code=422, error=error_text(lang, exc), code=code)
    except NotFound:
        return render(request, "feedback_track.html", status_code=404, code=code,
                      error="Không tìm thấy phản ánh có mã này." if lang == "vi" else "No feedback has this code.")
    cfg = load_config()
    category = next((c.name(lang) for c in cfg.categories if c.code == st.category), st.category)
    return render(request, "feedback_status.html", st=st, category=category, new=request.query_params.get("moi") == "1",
                  received_day=day(local_date(st.received_at)), due_day=day(st.due))


@router.get("/phan-anh/{area_code}/ma-qr.png", include_in_schema=False)
def intake_qr(request: Request, area_code: str) -> Response:
    """The QR code of the area's public page (``?ban-tin=`` cites a bulletin), as feed items show it."""
    cited = request.query_params.get("ban-tin", "")
    configured: str = request.app.state.settings.public_base_url
    base = configured.rstrip("/") if configured else str(request.base_url).rstrip("/")
    with session() as s:
        png = intake.feedback_qr_png(s, base, area_code, int(cited) if cited.isdigit() and len(cited) < 16 else None)
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/phan-anh/{area_code}", include_in_schema=False)
def intake_page(request: Request, area_code: str) -> Response:
    """The public form of one area; ``?ban-tin=<package id>`` cites the bulletin the QR code was on."""
    cited = request.query_params.get("ban-tin", "")
    return _intake_page(request, area_code, form={}, cited=cited if cited.isdigit() else "")


@router.post("/phan-anh/{area_code}", include_in_schema=False)
async def intake_submit(request: Request, area_code: str) -> Response:
    lang = lang_of(request)
    if _too_big(request):
        return _intake_page(request, area_code, 413, form={}, cited="",
                            error=translate(lang, "fb_err_too_big"))
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    cited = values.get("cited", "")
    if not csrf_matches(request.session.get("csrf"), values.get("csrf")):
        return _intake_page(request, area_code, 403, form=values, cited=cited,
                            error=translate(lang, "forbidden"))
    if values.get(HONEYPOT):
        return RedirectResponse(f"/phan-anh/{area_code}", status_code=303)  # a bot: accept silently
    try:
        photo_file, voice_file = (f if isinstance(f := form.get(k), UploadFile) else None for k in ("photo", "voice"))
        photo = await read_upload(photo_file, 8 * 1024 * 1024)
        voice = await read_upload(voice_file, intake.MAX_VOICE_BYTES)
        limits(request).check(client_key(request), area_code)
        with session() as s:
            receipt = intake.submit(s, object_store(), intake.Submission(
                area_code=area_code, category=values.get("category", ""), text=values.get("text", ""),
                channel=Channel.WEB, hamlet=values.get("hamlet", ""), contact_name=values.get("name", ""),
                contact_phone=values.get("phone", ""), contact_consent=values.get("consent") == "1",
                cited_package_id=int(cited) if cited.isdigit() else None, photo=photo,
                photo_keep_location=values.get("keep_location") == "1", voice=voice,
                voice_filename=voice_file.filename or "" if voice_file is not None else ""))
    except FeedbackError as exc:
        status = 429 if exc.code in ("rate_limited", "area_rate_limited") else 413 if exc.code == "too_big" else 422
        return _intake_page(request, area_code, status, form=values, cited=cited, error=error_text(lang, exc))
    if voice is not None:
        await transcribe_later(request, receipt.feedback_id)
    return RedirectResponse(f"/phan-anh/theo-doi/{receipt.tracking_code}?moi=1", status_code=303)


async def transcribe_later(request: Request, feedback_id: int) -> bool:
    """Queue Whisper for a new voice message (a flow run on the work pool, like every web action). The
    feedback is already stored: if no run can be started, the officer starts one from the item page."""
    try:
        await start(request, "transcribe_feedback", feedback_id)
    except RunRefused as exc:
        log.warning("voice message of feedback %s not queued for transcription: %s", feedback_id, exc)
        return False
    return True


# --- JSON API ---------------------------------------------------------------------------------------

class FeedbackIn(BaseModel):
    """A submission; lengths, the area and the category are checked by the service (its messages are the
    citizen's Vietnamese ones), the request's size here (:data:`MAX_API_BYTES`)."""

    area_code: str
    category: str
    text: str
    hamlet: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_consent: bool = False
    cited_package_id: int | None = Field(default=None, ge=1, lt=2**31)


MAX_API_BYTES = 64 * 1024  # a submission without media: 4,000 characters of text and a few short fields
# The label of each field in messages about it (catalogue keys).
FIELD_LABELS = {"area_code": "fb_area", "category": "fb_category", "text": "fb_text", "hamlet": "fb_field_hamlet",
                "contact_name": "fb_name", "contact_phone": "fb_phone", "contact_consent": "fb_field_consent",
                "cited_package_id": "fb_cites"}


def _api_error(exc: FeedbackError, lang: str) -> JSONResponse:
    status = 429 if exc.code in ("rate_limited", "area_rate_limited") else 422
    return JSONResponse({"error": error_text(lang, exc), "code": exc.code}, status_code=status)


def api_invalid(lang: str, errors: list[dict[str, Any]]) -> JSONResponse:
    """A body that is not the submission's JSON object, or one of whose fields is missing or of the wrong
    type: 422 naming the field in the reader's language (the first problem only)."""
    first = errors[0] if errors else {}
    loc = [str(x) for x in first.get("loc", ())]
    field = loc[0] if loc and loc[0] in FIELD_LABELS else ""
    if not field:
        return JSONResponse({"error": translate(lang, "fb_err_not_json"), "code": "not_json"}, status_code=422)
    key = "fb_err_missing_field" if first.get("type") == "missing" else "fb_err_bad_field"
    message = translate(lang, key).format(label=translate(lang, FIELD_LABELS[field]), field=field)
    return JSONResponse({"error": message, "code": "invalid_field", "field": field}, status_code=422)


@router.get("/api/v1/feedback/categories", tags=["feedback"])
def api_categories(request: Request) -> list[dict[str, object]]:
    """The categories citizens may choose, with the working days allowed to answer."""
    lang = lang_of(request)
    return [{"code": c.code, "name": c.name(lang), "group": c.group, "due_working_days": c.due_days}
            for c in load_config().categories]


@router.post("/api/v1/feedback", tags=["feedback"], status_code=201, openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": FeedbackIn.model_json_schema()}}}})
async def api_submit(request: Request) -> Response:
    """Submit feedback (a JSON object of FeedbackIn's fields; no login; rate-limited, at most 64 KB). Returns the
    tracking code and due date; a refusal is ``{"error": <message in Vietnamese>, "code": ...}`` with 4xx."""
    lang = lang_of(request)
    if _too_big(request, MAX_API_BYTES):
        return JSONResponse({"error": translate(lang, "fb_err_request_too_big"), "code": "too_big"}, status_code=413)
    raw = await request.body()
    if len(raw) > MAX_API_BYTES:
        return JSONResponse({"error": translate(lang, "fb_err_request_too_big"), "code": "too_big"}, status_code=413)
    try:
        body = FeedbackIn.model_validate_json(raw)
    except ValidationError as exc:
        return api_invalid(lang, [dict(e) for e in exc.errors()])
    return await run_in_threadpool(_api_store, request, body)


def _api_store(request: Request, body: FeedbackIn) -> Response:
    try:
        limits(request).check(client_key(request), body.area_code)
        with session() as s:
            r = intake.submit(s, object_store(), intake.Submission(
                area_code=body.area_code, category=body.category, text=body.text, channel=Channel.API,
                hamlet=body.hamlet, contact_name=body.contact_name, contact_phone=body.contact_phone,
                contact_consent=body.contact_consent, cited_package_id=body.cited_package_id))
    except FeedbackError as exc:
        return _api_error(exc, lang_of(request))
    return JSONResponse({"tracking_code": r.tracking_code, "due": r.due.isoformat(),
                         "status_url": f"/phan-anh/theo-doi/{r.tracking_code}"}, status_code=201)


@router.get("/api/v1/feedback/{code}", tags=["feedback"])
def api_status(request: Request, code: str) -> Response:
    """Public status by tracking code: never contact data."""
    try:
        with session() as s:
            st = intake.public_status(s, code)
    except FeedbackError as exc:
        return _api_error(exc, lang_of(request))
    except NotFound:
        return JSONResponse({"error": translate(lang_of(request), "fb_err_not_found"), "code": "not_found"},
                            status_code=404)
    return JSONResponse({
        "tracking_code": st.tracking_code, "area_code": st.area_code, "category": st.category, "state": st.state,
        "received_at": st.received_at.isoformat(), "due": st.due.isoformat(),
        "answered_at": st.answered_at.isoformat() if st.answered_at else None, "answer": st.answer or None,
        "reject_reason": st.reject_reason or None, "bulletin_package_id": st.bulletin_package_id,
        "bulletin_audio_url": f"/feeds/files/{st.bulletin_audio_sha256}" if st.bulletin_audio_sha256 else None})

