"""Open311 GeoReport v2 (JSON and XML) at ``/open311/v2``: services, service definitions, requests (GET and
POST) and one request by id, so existing apps and the provincial portal can submit and read feedback.

How bantin maps the specification:

- ``service_code`` is a feedback category code; every service has ``metadata: false`` and ``type: realtime``.
- ``service_request_id`` is the item's tracking code (unguessable, the same the citizen's status page uses).
- Location: ``address_id`` must be a bantin area code (the commune); ``lat``/``long`` are kept when sent,
  ``address_string`` is kept as the hamlet. A request with only coordinates is refused (no geocoder).
- ``api_key`` (required for POST, as the specification says) is a bantin API token (``bantin api-token USER``),
  e.g. the provincial portal's service account; the submitting app is responsible for the citizen's
  consent to the contact data it sends (``first_name``, ``last_name``, ``phone``). ``email`` and
  ``media_url`` are not stored (bantin fetches nothing from the network).
- ``status``: ``open`` (received, assigned, in progress) or ``closed`` (answered, closed, rejected);
  ``status_notes`` holds the public answer or the rejection reason. ``description``, ``lat`` and ``long``
  are returned only to an ``api_key`` whose user handles the item (the public sees state and answer).
- Errors are the specification's array of ``{"code", "description"}`` (XML: ``<errors><error><code>…``)
  with HTTP 400, 403 or 404 (429 when rate-limited), in the format the URL asked for; descriptions are in
  Vietnamese (an app may show them to the citizen).
- Formats: every endpoint answers ``.json`` and ``.xml`` (the specification's element names: a list is an
  element holding one child per item, ``services/service``, ``service_requests/request``,
  ``errors/error``; an absent value is an empty element); any other format answers 400 in JSON.
"""

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import NotFound
from domain.feedback import VN_TZ, Channel, FeedbackError, FeedbackState, due_deadline, parse_tracking_code
from services import auth, credentials
from services import feedback as fb
from services import feedback_intake as intake
from services.feedback_config import load_config
from services.runtime import object_store, session
from storage.models_feedback import FeedbackRecord
from storage.repositories import users
from web.feedback import client_key, limits

router = APIRouter(prefix="/open311/v2", tags=["open311"])
OPEN = {FeedbackState.RECEIVED.value, FeedbackState.ASSIGNED.value, FeedbackState.IN_PROGRESS.value}
MAX_RESULTS = 1000
DEFAULT_SPAN = timedelta(days=90)
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")
# XML element of each item of a list, by the list's element name (the specification's examples).
XML_ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
             "values": "value", "endpoints": "endpoint", "formats": "format"}


def errors(status: int, description: str, fmt: str = "json") -> Response:
    return reply([{"code": status, "description": description}], fmt, "errors", status)


def _xml_element(parent: ET.Element, tag: str, value: object) -> None:
    el = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_element(el, k, v)
    elif isinstance(value, list):
        for v in value:
            _xml_element(el, XML_ITEMS[tag], v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        el.text = str(value)


def to_xml(doc: object, root: str) -> str:
    """The GeoReport v2 XML of a JSON document: ``root`` holds the list's items or the object's fields."""
    holder = ET.Element("holder")
    _xml_element(holder, root, doc)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(holder[0], encoding="unicode")


def reply(doc: object, fmt: str, root: str, status: int = 200) -> Response:
    """``doc`` as JSON, or as XML under ``root`` when the URL asked for ``.xml``."""
    if fmt == "xml":
        return Response(to_xml(doc, root), status_code=status, media_type=XML_TYPE)
    return JSONResponse(doc, status_code=status, media_type=JSON_TYPE)


def _format_ok(fmt: str) -> bool:
    return fmt in FORMATS


def _bad_format(name: str) -> Response:
    return errors(400, f"Định dạng không được hỗ trợ: dùng {name}.json hoặc {name}.xml.")


def w3(at: datetime | None) -> str | None:
    """W3C date-time with the Vietnam offset, e.g. ``2026-02-13T10:00:00+07:00``."""
    return at.astimezone(VN_TZ).isoformat(timespec="seconds") if at is not None else None


def _parse_w3(value: str, name: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FeedbackError("bad_date", f"{name} phải là thời điểm theo W3C, ví dụ 2026-01-01T00:00:00Z.") from None
    if at.tzinfo is None:
        raise FeedbackError("bad_date", f"{name} phải có múi giờ (Z hoặc +07:00).")
    return at


@router.get("/discovery.{fmt}")
def discovery(request: Request, fmt: str) -> Response:
    """Service discovery: where the GeoReport v2 endpoint is and which formats it speaks."""
    if not _format_ok(fmt):
        return _bad_format("discovery")
    base = str(request.base_url).rstrip("/")
    return reply({"changeset": "2026-12-07T00:00:00+07:00", "contact": "Ủy ban nhân dân cấp xã phụ trách địa bàn",
                  "key_service": "bantin api-token", "endpoints": [
                      {"specification": "http://wiki.open311.org/GeoReport_v2", "url": f"{base}/open311/v2",
                       "changeset": "2026-12-07T00:00:00+07:00", "type": "production",
                       "formats": ["text/xml", "application/json"]}]}, fmt, "discovery")


@router.get("/services.{fmt}")
def services(request: Request, fmt: str) -> Response:
    if not _format_ok(fmt):
        return _bad_format("services")
    lang = "en" if request.query_params.get("lang") == "en" else "vi"
    return reply([{"service_code": c.code, "service_name": c.name(lang),
                   "description": f"{c.name(lang)} ({c.due_days} ngày làm việc)" if lang == "vi"
                   else f"{c.name(lang)} ({c.due_days} working days)",
                   "metadata": False, "type": "realtime", "keywords": c.name_vi, "group": c.group}
                  for c in load_config().categories], fmt, "services")


@router.get("/services/{service_code}.{fmt}")
def service_definition(service_code: str, fmt: str) -> Response:
    if not _format_ok(fmt):
        return _bad_format(f"services/{service_code}")
    if service_code not in {c.code for c in load_config().categories}:
        return errors(404, f"Không có lĩnh vực phản ánh (service_code) '{service_code[:40]}'.", fmt)
    return reply({"service_code": service_code, "attributes": []}, fmt, "service_definition")


def _api_user(request: Request, api_key: str) -> str | None:
    if not api_key:
        return None
    with session() as s:
        user = credentials.api_token_user(s, api_key)
        return user.username if user is not None else None


@router.post("/requests.{fmt}")
async def post_request(request: Request, fmt: str) -> Response:
    """Create a service request (application/x-www-form-urlencoded, as the specification says)."""
    if not _format_ok(fmt):
        return _bad_format("requests")
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    username = _api_user(request, form.get("api_key", ""))
    if username is None:
        return errors(403, "Thiếu api_key hoặc api_key không đúng: hãy dùng mã truy cập API do bantin cấp.", fmt)
    code = form.get("service_code", "").strip()
    if not code:
        return errors(400, "Thiếu service_code (lĩnh vực phản ánh).", fmt)
    if code not in {c.code for c in load_config().categories}:
        return errors(404, f"Không có lĩnh vực phản ánh (service_code) '{code[:40]}'.", fmt)
    area = form.get("address_id", "").strip()
    if not area:
        return errors(400, "Thiếu address_id (mã địa bàn, ví dụ mã 5 chữ số của xã, phường).", fmt)
    try:
        lat = float(form["lat"]) if form.get("lat") else None
        long = float(form["long"]) if form.get("long") else None
    except ValueError:
        return errors(400, "lat và long phải là số thập phân (WGS84).", fmt)
    if (lat is None) != (long is None):
        return errors(400, "Cần gửi cả lat và long.", fmt)
    name = " ".join(x for x in (form.get("first_name", "").strip(), form.get("last_name", "").strip()) if x)
    phone = form.get("phone", "")
    try:
        with session() as s:
            users.get_user(s, username)  # an active account (a disabled one's token is refused)
            limits(request).check(client_key(request), area)
            r = intake.submit(s, object_store(), intake.Submission(
                area_code=area, category=code, text=form.get("description", ""), channel=Channel.OPEN311,
                hamlet=form.get("address_string", "")[:100], contact_name=name, contact_phone=phone,
                contact_consent=bool(name or phone.strip()), lat=lat, long=long, entered_by=None))
    except FeedbackError as exc:
        status = 429 if exc.code in ("rate_limited", "area_rate_limited") else 400
        return errors(status, str(exc), fmt)
    except NotFound:  # the token's account was disabled or removed
        return errors(403, "Tài khoản của api_key không còn hoạt động.", fmt)
    notice = f"Đã tiếp nhận; hạn trả lời {r.due.isoformat()}."
    return reply([{"service_request_id": r.tracking_code, "service_notice": notice, "account_id": None}], fmt,
                 "service_requests")


def _view(rec: FeedbackRecord, names: dict[str, str], area_names: dict[str, str], full: bool) -> dict[str, object]:
    status_notes = rec.answer if rec.state in (FeedbackState.ANSWERED.value, FeedbackState.CLOSED.value) else (
        f"rejected: {rec.reject_reason}" if rec.state == FeedbackState.REJECTED.value else None)
    return {
        "service_request_id": rec.tracking_code,
        "status": "open" if rec.state in OPEN else "closed",
        "status_notes": status_notes or None,
        "service_name": names.get(rec.category, rec.category),
        "service_code": rec.category,
        "description": rec.text if full else None,
        "agency_responsible": area_names.get(rec.unit_code, rec.unit_code),
        "service_notice": None,
        "requested_datetime": w3(rec.received_at),
        "updated_datetime": w3(rec.updated_at),
        "expected_datetime": w3(due_deadline(date.fromisoformat(rec.due_date))),
        "address": ", ".join(x for x in (rec.hamlet, area_names.get(rec.area_code, "")) if x) or None,
        "address_id": rec.area_code,
        "zipcode": None,
        "lat": rec.lat if full else None,
        "long": rec.long if full else None,
        "media_url": None,
    }


def _render(request: Request, s: Session, recs: list[FeedbackRecord]) -> list[dict[str, object]]:
    username = _api_user(request, request.query_params.get("api_key", ""))
    user = users.find_user(s, username) if username else None
    names = {c.code: c.name_vi for c in load_config().categories}
    area_names = {code: a.name for code, a in auth.area_tree(s).items()}
    return [_view(r, names, area_names, user is not None and fb.handles(s, user, r)) for r in recs]


@router.get("/requests.{fmt}")
def get_requests(request: Request, fmt: str) -> Response:
    """Service requests: by ``service_request_id`` (comma-separated), else by ``service_code``, ``status`` and
    ``start_date``/``end_date`` (default: the last 90 days), at most 1000, newest first."""
    if not _format_ok(fmt):
        return _bad_format("requests")
    q = request.query_params
    with session() as s:
        stmt = select(FeedbackRecord)
        if q.get("service_request_id"):
            try:
                ids = [parse_tracking_code(x) for x in q["service_request_id"].split(",") if x.strip()]
            except FeedbackError as exc:
                return errors(400, str(exc), fmt)
            stmt = stmt.where(FeedbackRecord.tracking_code.in_(ids))
        else:
            try:
                start = _parse_w3(q["start_date"], "start_date") if q.get("start_date") else None
                end = _parse_w3(q["end_date"], "end_date") if q.get("end_date") else None
            except FeedbackError as exc:
                return errors(400, str(exc), fmt)
            if start is None:  # the specification's default: the 90 days up to end_date (or now)
                end = end or datetime.now(UTC)
                start = end - DEFAULT_SPAN
            elif end is None:
                end = start + DEFAULT_SPAN
            if start > end:
                return errors(400, "start_date sau end_date.", fmt)
            if end - start > DEFAULT_SPAN:
                return errors(400, "Từ start_date đến end_date tối đa 90 ngày.", fmt)
            stmt = stmt.where(FeedbackRecord.received_at >= start, FeedbackRecord.received_at <= end)
            if q.get("service_code"):
                stmt = stmt.where(FeedbackRecord.category.in_([c for c in q["service_code"].split(",") if c]))
            statuses = {x for x in q.get("status", "").split(",") if x}
            if statuses - {"open", "closed"}:
                return errors(400, "status phải là open, closed hoặc cả hai (cách nhau bằng dấu phẩy).", fmt)
            if statuses == {"open"}:
                stmt = stmt.where(FeedbackRecord.state.in_(OPEN))
            elif statuses == {"closed"}:
                stmt = stmt.where(FeedbackRecord.state.not_in(OPEN))
        recs = list(s.scalars(stmt.order_by(FeedbackRecord.received_at.desc()).limit(MAX_RESULTS)))
        return reply(_render(request, s, recs), fmt, "service_requests")


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(request: Request, service_request_id: str, fmt: str) -> Response:
    if not _format_ok(fmt):
        return _bad_format(f"requests/{service_request_id[:20]}")
    try:
        code = parse_tracking_code(service_request_id)
    except FeedbackError:
        return errors(404, f"Không tìm thấy phản ánh (service_request_id) {service_request_id[:20]}.", fmt)
    with session() as s:
        rec = s.scalar(select(FeedbackRecord).where(FeedbackRecord.tracking_code == code))
        if rec is None:
            return errors(404, f"Không tìm thấy phản ánh (service_request_id) {code}.", fmt)
        return reply(_render(request, s, [rec]), fmt, "service_requests")
