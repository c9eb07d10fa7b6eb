"""Open311 GeoReport v2 contract, written from the specification (wiki.open311.org/GeoReport_v2):

- GET services: an array of objects with exactly service_code, service_name, description, metadata
  (true/false), type (realtime/batch/blackbox), keywords, group.
- GET services/{code}: service_code and attributes.
- POST requests (application/x-www-form-urlencoded, api_key required): an array of objects with
  service_request_id (or token), service_notice, account_id.
- GET requests / requests/{id}: arrays of objects with the 17 response fields; status is open or closed;
  date-times in W3C format with a time zone; default span 90 days.
- Errors: an array of objects with code and description; HTTP 404 for what does not exist, 403 for a
  missing or wrong api_key, 400 for any other refused request.
- Formats: each call ends in .json or .xml. XML answers: ``<services><service>`` with the same seven
  elements; ``<service_definition>`` with ``<service_code>`` and ``<attributes>``; ``<service_requests>``
  holding ``<request>`` elements (POST: service_request_id, service_notice, account_id; GET: the 17
  fields); errors as ``<errors><error><code/><description/></error></errors>``. An empty value is an
  empty element (the specification's ``<account_id/>``).
"""

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services import credentials
from services import feedback as fb
from services.runtime import session
from settings import get_settings
from web.app import create_app

pytestmark = pytest.mark.integration
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
TEXT = "Đường liên ấp Phú Hòa có ổ gà lớn trước trường tiểu học, xe máy dễ té ngã."


@pytest.fixture
def client(shared_web_home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def key(client: TestClient, username: str = "editor_daloc") -> str:
    with session() as s:
        return credentials.create_api_token(s, username, days=1, actor=username)[1]


def assert_error(resp, status: int) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert isinstance(body, list) and body and set(body[0]) == {"code", "description"}
    assert body[0]["code"] == status and isinstance(body[0]["description"], str) and body[0]["description"]


def post(client: TestClient, **fields: str):  # type: ignore[no-untyped-def]
    base = {"api_key": key(client), "service_code": "infrastructure", "address_id": "29377", "description": TEXT}
    base.update(fields)
    return client.post("/open311/v2/requests.json", data={k: v for k, v in base.items() if v is not None})


def test_services_list_and_definition(client: TestClient) -> None:
    r = client.get("/open311/v2/services.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json; charset=utf-8"
    services = r.json()
    assert all(set(s) == SERVICE_FIELDS for s in services)
    assert all(s["metadata"] is False and s["type"] in ("realtime", "batch", "blackbox") for s in services)
    security = next(s for s in services if s["service_code"] == "security")
    assert security == {"service_code": "security", "service_name": "An ninh, trật tự",
                        "description": "An ninh, trật tự (3 ngày làm việc)", "metadata": False, "type": "realtime",
                        "keywords": "An ninh, trật tự", "group": "general"}
    assert client.get("/open311/v2/services/security.json").json() == {"service_code": "security", "attributes": []}
    assert_error(client.get("/open311/v2/services/potholes.json"), 404)
    assert_error(client.get("/open311/v2/services.csv"), 400)


def test_post_request_then_read_it_back(client: TestClient) -> None:
    r = post(client, lat="9.9", long="106.3", address_string="Ấp Phú Hòa", first_name="Văn", last_name="Nam",
             phone="0912345678", email="nam@example.vn", device_id="abc", media_url="http://example.vn/a.jpg")
    assert r.status_code == 200
    created = r.json()
    assert isinstance(created, list) and len(created) == 1
    assert set(created[0]) == {"service_request_id", "service_notice", "account_id"}
    rid = created[0]["service_request_id"]
    assert re.fullmatch(r"[A-Z2-9]{8}", rid)

    one = client.get(f"/open311/v2/requests/{rid}.json")
    assert one.status_code == 200
    [req] = one.json()
    assert set(req) == REQUEST_FIELDS
    assert (req["service_request_id"], req["status"], req["service_code"], req["address_id"]) == \
        (rid, "open", "infrastructure", "29377")
    assert req["service_name"] == "Hạ tầng (đường, điện, nước)"
    assert req["agency_responsible"] == "Xã Đa Lộc" and req["address"] == "Ấp Phú Hòa, Xã Đa Lộc"
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(req[field]), (field, req[field])
    # The public sees no citizen text or coordinates; the area's handler (by api_key) does.
    assert (req["description"], req["lat"], req["long"]) == (None, None, None)
    [full] = client.get(f"/open311/v2/requests/{rid}.json", params={"api_key": key(client)}).json()
    assert (full["description"], full["lat"], full["long"]) == (TEXT, 9.9, 106.3)
    [other] = client.get(f"/open311/v2/requests/{rid}.json",
                         params={"api_key": key(client, "editor_mychanh")}).json()
    assert other["description"] is None
    assert "0912345678" not in one.text + str(full)


def test_status_moves_to_closed_with_the_answer_as_status_notes(client: TestClient) -> None:
    rid = post(client).json()[0]["service_request_id"]
    with session() as s:
        fid = s.execute(text("select id from feedback where tracking_code = :c"), {"c": rid}).scalar_one()
        fb.assign(s, fid, actor="editor_daloc")
        fb.answer(s, fid, actor="editor_daloc", text="Xã đã vá ổ gà ngày 6/12.")
    [req] = client.get(f"/open311/v2/requests/{rid}.json").json()
    assert (req["status"], req["status_notes"]) == ("closed", "Xã đã vá ổ gà ngày 6/12.")
    closed = client.get("/open311/v2/requests.json", params={"status": "closed"}).json()
    opened = client.get("/open311/v2/requests.json", params={"status": "open"}).json()
    assert rid in {x["service_request_id"] for x in closed} and rid not in {x["service_request_id"] for x in opened}


def test_get_requests_filters_and_dates(client: TestClient) -> None:
    a = post(client, service_code="environment").json()[0]["service_request_id"]
    b = post(client, service_code="security").json()[0]["service_request_id"]
    both = client.get("/open311/v2/requests.json", params={"service_request_id": f"{a},{b}"}).json()
    assert {x["service_request_id"] for x in both} == {a, b}
    env = client.get("/open311/v2/requests.json", params={"service_code": "environment"}).json()
    assert a in {x["service_request_id"] for x in env} and b not in {x["service_request_id"] for x in env}
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get("/open311/v2/requests.json", params={"start_date": future}).json() == []
    assert_error(client.get("/open311/v2/requests.json", params={"start_date": "yesterday"}), 400)
    assert_error(client.get("/open311/v2/requests.json", params={"start_date": "2026-01-01T00:00:00"}), 400)
    assert_error(client.get("/open311/v2/requests.json", params={"status": "pending"}), 400)
    assert_error(client.get("/open311/v2/requests.json", params={"start_date": "2026-01-01T00:00:00Z",
                                                                 "end_date": "2026-06-01T00:00:00Z"}), 400)
    assert_error(client.get("/open311/v2/requests/ZZZZZZZZ.json"), 404)


@pytest.mark.parametrize("fields,status", [
    ({"api_key": None}, 403), ({"api_key": "not-a-token"}, 403), ({"service_code": None}, 400),
    ({"service_code": "potholes"}, 404), ({"address_id": None, "lat": "9.9", "long": "106.3"}, 400),
    ({"lat": "north", "long": "106.3"}, 400), ({"lat": "9.9"}, 400), ({"description": ""}, 400),
    ({"description": "<b>" + "x" * 4001}, 400), ({"address_id": "00000"}, 400), ({"phone": "12ab"}, 400)])
def test_post_errors_follow_the_specification(client: TestClient, fields: dict, status: int) -> None:
    assert_error(post(client, **fields), status)


# --- the XML format ---

def xml_of(resp, root: str) -> ET.Element:  # type: ignore[no-untyped-def]
    assert resp.headers["content-type"] == "text/xml; charset=utf-8"
    assert resp.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    doc = ET.fromstring(resp.content)
    assert doc.tag == root
    return doc


def fields(el: ET.Element) -> dict[str, str | None]:
    assert all(len(child) == 0 for child in el), "request fields are flat"
    return {child.tag: child.text for child in el}


def assert_xml_error(resp, status: int) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == status
    [error] = list(xml_of(resp, "errors"))
    assert error.tag == "error" and [c.tag for c in error] == ["code", "description"]
    assert error.findtext("code") == str(status) and error.findtext("description")


def test_services_and_definition_in_xml(client: TestClient) -> None:
    r = client.get("/open311/v2/services.xml")
    assert r.status_code == 200
    services = list(xml_of(r, "services"))
    assert services and all(el.tag == "service" and set(fields(el)) == SERVICE_FIELDS for el in services)
    security = next(fields(el) for el in services if el.findtext("service_code") == "security")
    assert security == {"service_code": "security", "service_name": "An ninh, trật tự",
                        "description": "An ninh, trật tự (3 ngày làm việc)", "metadata": "false", "type": "realtime",
                        "keywords": "An ninh, trật tự", "group": "general"}
    definition = xml_of(client.get("/open311/v2/services/security.xml"), "service_definition")
    assert [c.tag for c in definition] == ["service_code", "attributes"]
    assert definition.findtext("service_code") == "security" and len(definition.find("attributes")) == 0
    assert_xml_error(client.get("/open311/v2/services/potholes.xml"), 404)


def test_post_and_read_a_request_in_xml(client: TestClient) -> None:
    base = {"api_key": key(client), "service_code": "infrastructure", "address_id": "29377", "description": TEXT,
            "lat": "9.9", "long": "106.3", "address_string": "Ấp Phú Hòa"}
    r = client.post("/open311/v2/requests.xml", data=base)
    assert r.status_code == 200
    [created] = list(xml_of(r, "service_requests"))
    assert created.tag == "request" and set(fields(created)) == {"service_request_id", "service_notice", "account_id"}
    assert fields(created)["account_id"] is None  # <account_id/>, as in the specification's example
    rid = created.findtext("service_request_id") or ""
    assert re.fullmatch(r"[A-Z2-9]{8}", rid)

    [req] = list(xml_of(client.get(f"/open311/v2/requests/{rid}.xml"), "service_requests"))
    got = fields(req)
    assert req.tag == "request" and set(got) == REQUEST_FIELDS
    assert (got["service_request_id"], got["status"], got["service_code"], got["address_id"]) == \
        (rid, "open", "infrastructure", "29377")
    assert got["agency_responsible"] == "Xã Đa Lộc" and got["address"] == "Ấp Phú Hòa, Xã Đa Lộc"
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(got[field] or ""), (field, got[field])
    assert (got["description"], got["lat"], got["long"], got["zipcode"]) == (None, None, None, None)
    [full] = list(xml_of(client.get(f"/open311/v2/requests/{rid}.xml", params={"api_key": key(client)}),
                         "service_requests"))
    assert (full.findtext("description"), full.findtext("lat"), full.findtext("long")) == (TEXT, "9.9", "106.3")

    with session() as s:
        fid = s.execute(text("select id from feedback where tracking_code = :c"), {"c": rid}).scalar_one()
        fb.assign(s, fid, actor="editor_daloc")
        fb.answer(s, fid, actor="editor_daloc", text="Xã đã vá ổ gà <ngay> ngày 6/12 & rào lại.")
    listing = xml_of(client.get("/open311/v2/requests.xml", params={"status": "closed"}), "service_requests")
    closed = next(el for el in listing if el.findtext("service_request_id") == rid)
    assert (closed.findtext("status"), closed.findtext("status_notes")) == (
        "closed", "Xã đã vá ổ gà <ngay> ngày 6/12 & rào lại.")  # escaped on the wire, intact when parsed
    opened = xml_of(client.get("/open311/v2/requests.xml", params={"status": "open"}), "service_requests")
    assert rid not in {el.findtext("service_request_id") for el in opened}


def test_xml_errors_use_the_specifications_error_format(client: TestClient) -> None:
    assert_xml_error(client.get("/open311/v2/requests/ZZZZZZZZ.xml"), 404)
    assert_xml_error(client.get("/open311/v2/requests.xml", params={"start_date": "yesterday"}), 400)
    assert_xml_error(client.get("/open311/v2/requests.xml", params={"status": "pending"}), 400)
    post_xml = {"service_code": "infrastructure", "address_id": "29377", "description": TEXT}
    assert_xml_error(client.post("/open311/v2/requests.xml", data=post_xml), 403)
    assert_xml_error(client.post("/open311/v2/requests.xml", data={**post_xml, "api_key": key(client),
                                                                   "service_code": "potholes"}), 404)
    assert_xml_error(client.post("/open311/v2/requests.xml", data={**post_xml, "api_key": key(client),
                                                                   "description": ""}), 400)
    # Discovery names both formats; an unknown format is refused (in JSON: it has no format of its own).
    endpoint = xml_of(client.get("/open311/v2/discovery.xml"), "discovery").find("endpoints/endpoint")
    assert endpoint is not None and [f.text for f in endpoint.iter("format")] == ["text/xml", "application/json"]
    assert_error(client.get("/open311/v2/requests.yaml"), 400)


@pytest.mark.parametrize("fields,status,description", [
    ({"service_code": "potholes"}, 404, "Không có lĩnh vực phản ánh (service_code) 'potholes'."),
    ({"description": ""}, 400, "Nội dung phản ánh đang trống. Vui lòng viết nội dung."),
    ({"description": "x" * 4001}, 400, "Nội dung quá dài (4001 ký tự; tối đa 4000)."),
    ({"address_id": "99999"}, 400, "Không có địa bàn mã '99999'."),
    ({"address_id": None}, 400, "Thiếu address_id (mã địa bàn, ví dụ mã 5 chữ số của xã, phường)."),
    ({"api_key": "not-a-token"}, 403,
     "Thiếu api_key hoặc api_key không đúng: hãy dùng mã truy cập API do bantin cấp."),
])
def test_refusals_are_described_in_vietnamese_and_store_nothing(client: TestClient, fields: dict, status: int,
                                                                 description: str) -> None:
    with session() as s:
        before = s.execute(text("SELECT count(*) FROM feedback")).scalar_one()
    r = post(client, **fields)
    assert r.status_code == status and r.json() == [{"code": status, "description": description}]
    with session() as s:
        assert s.execute(text("SELECT count(*) FROM feedback")).scalar_one() == before
    missing = client.get("/open311/v2/requests/ZZZZZZZZ.json")
    assert missing.json() == [{"code": 404, "description": "Không tìm thấy phản ánh (service_request_id) ZZZZZZZZ."}]


def test_a_flood_from_one_client_is_refused_with_429(client: TestClient) -> None:
    from services import feedback_intake as intake
    from services.feedback_config import FeedbackConfig

    client.app.state.feedback_limits = intake.IntakeLimits.from_config(  # type: ignore[attr-defined]
        FeedbackConfig(max_per_client=1, max_per_area=50, window_s=600), clock=lambda: 0.0)
    assert post(client).status_code == 200
    flood = post(client)
    assert flood.status_code == 429 and flood.json() == [{
        "code": 429, "description": "Bạn đã gửi nhiều phản ánh trong thời gian ngắn. Vui lòng thử lại sau."}]
