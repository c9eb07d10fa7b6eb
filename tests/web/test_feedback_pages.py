"""The public intake page, tracking page, JSON API and handlers' pages through the real app (TestClient)."""

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from services import feedback_intake as intake
from services.feedback_config import FeedbackConfig
from services.runtime import object_store, session
from settings import get_settings
from storage.models_feedback import FeedbackRecord
from tests.feedback.test_service import wav
from tests.web.accounts import DRAFT_AREA
from tests.web.conftest import PASSWORD
from web.app import create_app
from web.jobs import RunRefused

pytestmark = pytest.mark.integration
TEXT = "Cống thoát nước ở ấp Phú Hòa bị tắc, nước tràn vào nhà dân mỗi khi mưa."


@pytest.fixture
def client(shared_web_home: Path) -> Iterator[TestClient]:
    app = create_app(get_settings())
    with TestClient(app, follow_redirects=False) as c:
        yield c


def csrf(client: TestClient, path: str = f"/phan-anh/{DRAFT_AREA}") -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert m
    return m.group(1)


def login(client: TestClient, user: str) -> None:
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": csrf(client, "/login")})
    assert r.status_code == 303


def gps_jpeg() -> bytes:
    """A JPEG whose EXIF holds a GPS block (Đa Lộc is about 9.9 N, 106.3 E) and an orientation."""
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (9.0, 54.0, 0.0), 3: "E", 4: (106.0, 18.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


def post_form(client: TestClient, *, files: dict | None = None, **fields: str):  # type: ignore[no-untyped-def]
    data = {"csrf": csrf(client), "category": "infrastructure", "text": TEXT, **fields}
    return client.post(f"/phan-anh/{DRAFT_AREA}", data=data, files=files or {})


def newest() -> FeedbackRecord:
    with session() as s:
        return s.query(FeedbackRecord).order_by(FeedbackRecord.id.desc()).first()  # type: ignore[return-value]


def test_intake_page_is_public_phone_first_and_lists_categories(client: TestClient) -> None:
    r = client.get(f"/phan-anh/{DRAFT_AREA}?ban-tin=12")
    assert r.status_code == 200
    assert "Xã Đa Lộc" in r.text and 'name="website"' in r.text and 'value="12"' in r.text
    assert '<option value="broadcast_loud">Loa quá to</option>' in r.text
    # nothing chosen until the citizen chooses: the first option is empty, selected, and the field required
    assert '<select id="category" name="category" required>\n    <option value="" selected>— Chọn lĩnh vực —</option>' \
        in r.text
    assert 'name="viewport" content="width=device-width' in r.text
    unknown = client.get("/phan-anh/00000")
    assert unknown.status_code == 404 and "Không có địa bàn này" in unknown.text and "bantin areas" not in unknown.text


def test_submit_with_photo_strips_gps_and_shows_the_tracking_page(client: TestClient) -> None:
    r = post_form(client, files={"photo": ("anh.jpg", gps_jpeg(), "image/jpeg")}, hamlet="Phú Hòa")
    assert r.status_code == 303
    code = r.headers["location"].split("/")[-1].split("?")[0]
    rec = newest()
    assert (rec.tracking_code, rec.category, rec.hamlet, rec.photo_type) == (code, "infrastructure", "Phú Hòa",
                                                                             "image/jpeg")
    stored = Image.open(io.BytesIO(object_store().get_bytes(rec.photo_key)))
    assert stored.getexif().get_ifd(0x8825) == {} and stored.getexif()[0x0112] == 6
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and code in page.text and "Đã tiếp nhận" in page.text


def test_photo_location_is_kept_only_when_the_citizen_opts_in(client: TestClient) -> None:
    assert post_form(client, files={"photo": ("a.jpg", gps_jpeg(), "image/jpeg")}, keep_location="1").status_code == 303
    rec = newest()
    gps = Image.open(io.BytesIO(object_store().get_bytes(rec.photo_key))).getexif().get_ifd(0x8825)
    assert rec.photo_location_kept and gps[1] == "N" and gps[3] == "E"


@pytest.mark.parametrize("fields,files,status,message", [
    ({"text": ""}, None, 422, "Nội dung phản ánh đang trống"),
    ({"category": "weather"}, None, 422, "Không có lĩnh vực phản ánh"),
    ({"category": ""}, None, 422, "Hãy chọn lĩnh vực phản ánh"),
    ({}, {"photo": ("x.jpg", b"GIF89a not a jpeg at all", "image/jpeg")}, 422, "hoặc không phải là ảnh"),
    ({}, {"photo": ("x.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif")}, 422, "Tệp ảnh bị hỏng"),
    ({}, {"voice": ("note.exe", b"MZ....", "application/octet-stream")}, 422, "Tin nhắn thoại phải là tệp âm thanh"),
    ({"phone": "0912345678"}, None, 422, "Hãy đánh dấu đồng ý"),
    ({"text": TEXT + " " + "x" * 4000}, None, 422, "Nội dung quá dài (4072 ký tự; tối đa 4000)."),
    ({}, {"voice": ("ghi-am.wav", wav(600), "audio/wav")}, 422, "Tin nhắn thoại dài 10 phút; tối đa 120 giây."),
    ({}, {"voice": ("ghi-am.wav", b"RIFF\x00\x00garbage", "audio/wav")}, 422,
     "Không đọc được tin nhắn thoại (tệp hỏng hoặc không có âm thanh)."),
])
def test_bad_input_keeps_what_was_typed_and_stores_nothing(client: TestClient, fields: dict, files: dict | None,
                                                          status: int, message: str) -> None:
    before = newest()
    r = post_form(client, files=files, **fields)
    assert r.status_code == status and message in r.text
    if fields.get("text", TEXT):
        assert "Cống thoát nước ở ấp Phú Hòa" in r.text  # the citizen's text is still in the form
    after = newest()
    assert (after.id if after else None) == (before.id if before else None)


def test_script_is_escaped_on_every_page(client: TestClient) -> None:
    evil = "<script>alert('x')</script> đèn đường hỏng ở ngã ba"
    r = post_form(client, text=evil)
    page = client.get(r.headers["location"]).text
    assert "<script>alert" not in page and "&lt;script&gt;alert(" in page
    rec = newest()
    login(client, "editor_daloc")
    item = client.get(f"/feedback/{rec.id}").text
    assert "<script>alert" not in item and "&lt;script&gt;" in item


def test_honeypot_is_answered_as_success_and_stores_nothing(client: TestClient) -> None:
    before = newest()
    r = post_form(client, website="http://spam.example")
    assert r.status_code == 303 and r.headers["location"] == f"/phan-anh/{DRAFT_AREA}"
    assert (newest().id if newest() else None) == (before.id if before else None)


def test_rate_limit_per_client_with_a_controlled_clock(client: TestClient) -> None:
    t = [0.0]
    client.app.state.feedback_limits = intake.IntakeLimits.from_config(  # type: ignore[attr-defined]
        FeedbackConfig(max_per_client=2, max_per_area=50, window_s=600), clock=lambda: t[0])
    assert post_form(client).status_code == 303
    assert post_form(client).status_code == 303
    r = post_form(client)
    assert r.status_code == 429 and "Bạn đã gửi nhiều phản ánh" in r.text
    t[0] = 601.0
    assert post_form(client).status_code == 303


def test_oversized_request_is_refused_before_reading(client: TestClient) -> None:
    big = b"\xff\xd8" + b"0" * (16 * 1024 * 1024)
    r = post_form(client, files={"photo": ("big.jpg", big, "image/jpeg")})
    assert r.status_code == 413


def test_tracking_code_lookup_and_unknown_codes(client: TestClient) -> None:
    assert client.get("/phan-anh/theo-doi?ma=abc").status_code == 422
    missing = client.get("/phan-anh/theo-doi/AAAAAAAA")
    assert missing.status_code == 404 and "Không tìm thấy phản ánh" in missing.text
    r = post_form(client)
    code = r.headers["location"].split("/")[-1].split("?")[0]
    lower = client.get(f"/phan-anh/theo-doi?ma={code.lower()[:4]}-{code.lower()[4:]}")
    assert lower.status_code == 303 and lower.headers["location"] == f"/phan-anh/theo-doi/{code}"


def test_json_api_submit_and_status_without_contact_data(client: TestClient) -> None:
    cats = client.get("/api/v1/feedback/categories").json()
    assert {"code": "security", "name": "An ninh, trật tự", "group": "general", "due_working_days": 3} in cats
    r = client.post("/api/v1/feedback", json={"area_code": DRAFT_AREA, "category": "environment", "text": TEXT,
                                              "contact_phone": "0912345678", "contact_consent": True})
    assert r.status_code == 201
    code = r.json()["tracking_code"]
    st = client.get(f"/api/v1/feedback/{code}").json()
    assert (st["state"], st["category"], st["answer"]) == ("received", "environment", None)
    assert "0912345678" not in str(st)
    bad = client.post("/api/v1/feedback", json={"area_code": "00000", "category": "environment", "text": TEXT})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_area"
    assert client.get("/api/v1/feedback/AAAAAAAA").status_code == 404
    assert client.get("/api/v1/feedback/<b>").status_code == 422


def count_items() -> int:
    with session() as s:
        return s.query(FeedbackRecord).count()


def test_json_api_refusals_are_vietnamese_4xx_and_store_nothing(client: TestClient) -> None:
    before = count_items()
    good = {"area_code": DRAFT_AREA, "category": "environment", "text": TEXT}

    def refused(status: int, code: str, message: str, **kw: object) -> None:
        r = client.post("/api/v1/feedback", **kw)  # type: ignore[arg-type]
        assert r.status_code == status, r.text
        assert r.json()["code"] == code and r.json()["error"] == message

    refused(422, "empty", "Nội dung phản ánh đang trống. Vui lòng viết nội dung.", json={**good, "text": " "})
    refused(422, "too_long", "Nội dung quá dài (4001 ký tự; tối đa 4000).", json={**good, "text": "x" * 4001})
    refused(422, "unknown_category", "Không có lĩnh vực phản ánh 'weather'.", json={**good, "category": "weather"})
    refused(422, "unknown_area", "Không có địa bàn mã '99999'.", json={**good, "area_code": "99999"})
    refused(422, "invalid_field", "Thiếu trường “text” (Nội dung phản ánh).",
            json={"area_code": DRAFT_AREA, "category": "environment"})
    refused(422, "invalid_field", "Trường “text” (Nội dung phản ánh) không đúng kiểu dữ liệu.",
            json={**good, "text": ["<b>a list</b>"]})
    refused(422, "not_json", "Hãy gửi một đối tượng JSON có các trường area_code, category và text.",
            content=b"<feedback>text</feedback>", headers={"content-type": "application/json"})
    refused(422, "not_json", "Hãy gửi một đối tượng JSON có các trường area_code, category và text.", json=[good])
    refused(413, "too_big", "Yêu cầu quá lớn (tối đa 64 KB).", json={**good, "hamlet": "x" * 70_000})
    assert count_items() == before  # nothing stored for any of them
    # English readers get English messages
    en = client.post("/api/v1/feedback?lang=en", json={"area_code": DRAFT_AREA, "category": "environment"})
    assert en.status_code == 422 and en.json()["error"] == "Field “text” (Your feedback) is missing."
    missing = client.get("/api/v1/feedback/AAAAAAAA")
    assert missing.status_code == 404 and missing.json() == {"error": "Không tìm thấy phản ánh có mã này.",
                                                             "code": "not_found"}


def test_json_api_floods_are_refused_with_429(client: TestClient) -> None:
    t = [0.0]
    client.app.state.feedback_limits = intake.IntakeLimits.from_config(  # type: ignore[attr-defined]
        FeedbackConfig(max_per_client=1, max_per_area=50, window_s=600), clock=lambda: t[0])
    body = {"area_code": DRAFT_AREA, "category": "environment", "text": TEXT}
    assert client.post("/api/v1/feedback", json=body).status_code == 201
    before = count_items()
    flood = client.post("/api/v1/feedback", json=body)
    assert flood.status_code == 429 and flood.json() == {
        "error": "Bạn đã gửi nhiều phản ánh trong thời gian ngắn. Vui lòng thử lại sau.", "code": "rate_limited"}
    assert count_items() == before
    t[0] = 601.0
    assert client.post("/api/v1/feedback", json=body).status_code == 201


def test_handlers_see_contact_others_are_refused(client: TestClient) -> None:
    post_form(client, name="Trần Thị Bình", phone="0987654321", consent="1")
    rec = newest()
    login(client, "editor_mychanh")
    assert client.get(f"/feedback/{rec.id}").status_code == 403
    assert client.get(f"/feedback/{rec.id}/media/photo").status_code == 403
    assert f"/feedback/{rec.id}\"" not in client.get("/feedback").text
    client.post("/logout", data={"csrf": csrf(client, "/feedback")})
    login(client, "editor_daloc")
    page = client.get(f"/feedback/{rec.id}").text
    assert "Trần Thị Bình" in page and "0987654321" in page
    assert f'href="/feedback/{rec.id}"' in client.get("/feedback").text


def test_handler_answers_transfers_and_puts_the_answer_on_air(client: TestClient) -> None:
    post_form(client)
    rec = newest()
    login(client, "editor_daloc")
    token = csrf(client, f"/feedback/{rec.id}")
    assert client.post(f"/feedback/{rec.id}/assign", data={"csrf": token}).status_code == 303
    assert client.post(f"/feedback/{rec.id}/answer", data={"csrf": "wrong", "answer": "x" * 20}).status_code == 403
    short = client.post(f"/feedback/{rec.id}/answer", data={"csrf": token, "answer": "ok"})
    assert short.status_code == 303 and "quá ngắn" in client.get(f"/feedback/{rec.id}").text
    r = client.post(f"/feedback/{rec.id}/answer", data={"csrf": token, "answer": "Xã đã nạo vét cống ngày 5/12."})
    assert r.status_code == 303
    again = client.post(f"/feedback/{rec.id}/assign", data={"csrf": token})  # a second click
    assert again.status_code == 303 and "thao tác này không còn phù hợp" in client.get(f"/feedback/{rec.id}").text
    on_air = client.post(f"/feedback/{rec.id}/on_air", data={"csrf": token})
    assert on_air.status_code == 303 and on_air.headers["location"].startswith("/drafts/")
    status = client.get(f"/phan-anh/theo-doi/{rec.tracking_code}").text
    assert "Xã đã nạo vét cống ngày 5/12." in status and "sau khi được duyệt" in status


def test_officer_enters_a_phone_call_and_pages_switch_to_english(client: TestClient) -> None:
    login(client, "editor_daloc")
    token = csrf(client, "/feedback/new")
    bad = client.post("/feedback/new", data={"csrf": token, "area": "29380", "channel": "phone",
                                             "category": "policy", "text": TEXT})
    assert bad.status_code == 422 and "không tiếp nhận phản ánh của địa bàn 29380" in bad.text
    assert "Cống thoát nước" in bad.text  # kept in the form
    r = client.post("/feedback/new", data={"csrf": token, "area": DRAFT_AREA, "channel": "in_person",
                                           "category": "policy", "text": TEXT, "phone": "0912345678", "consent": "1"})
    assert r.status_code == 303
    rec = newest()
    assert (rec.channel, rec.entered_by, rec.contact_phone) == ("in_person", "editor_daloc", "0912345678")
    page = client.get(f"/feedback/{rec.id}?lang=en").text
    assert "Policy and law" in page and "In person" in page and "Take it" in page
    public = client.get(f"/phan-anh/{DRAFT_AREA}?lang=en").text
    assert "Send feedback" in public and "The loudspeaker is too loud" in public
    err = post_form(client, text="")
    assert "The message is empty" in err.text


def test_queue_warns_about_overdue_items(client: TestClient) -> None:
    with session() as s:
        old = intake.submit(s, object_store(), intake.Submission(area_code="29380", category="security", text=TEXT),
                            now=datetime(2026, 2, 13, 3, 0, tzinfo=UTC))  # due 25 Feb 2026: long past
    login(client, "editor_mychanh")
    page = client.get("/feedback").text
    assert re.search(r'id="fb-overdue">\d+ phản ánh đã quá hạn trả lời', page)
    assert f'href="/feedback/{old.feedback_id}"' in page and "Quá hạn" in page
    assert "25/02/2026" in page  # dates as Vietnamese pages write them
    item = client.get(f"/feedback/{old.feedback_id}").text
    assert "Ngày nhận 13/02/2026" in item and "Hạn trả lời 25/02/2026" in item
    status = client.get(f"/phan-anh/theo-doi/{old.tracking_code}").text
    assert "Ngày nhận 13/02/2026" in status and "Hạn trả lời 25/02/2026" in status


class TranscriptionFlows:
    """Records transcription starts (the web app's flow starter), or refuses them like a missing server."""

    def __init__(self, refuse: bool = False) -> None:
        self.started: list[int] = []
        self.refuse = refuse

    def transcribe_feedback(self, feedback_id: int, user: str = "") -> str:
        if self.refuse:
            raise RunRefused("runs_unavailable", 503, "no Prefect server configured")
        self.started.append(feedback_id)
        return "run-id"


def test_a_voice_message_starts_its_transcription_and_a_refusal_loses_nothing(client: TestClient) -> None:
    flows = TranscriptionFlows()
    client.app.state.flows = flows  # type: ignore[attr-defined]
    assert post_form(client).status_code == 303
    assert flows.started == []  # no voice message: nothing to transcribe
    r = post_form(client, files={"voice": ("ghi-am.wav", wav(3), "audio/wav")})
    rec = newest()
    assert r.status_code == 303 and rec.voice_key and flows.started == [rec.id]
    client.app.state.flows = TranscriptionFlows(refuse=True)  # type: ignore[attr-defined]
    r = post_form(client, files={"voice": ("ghi-am-2.wav", wav(4), "audio/wav")})
    assert r.status_code == 303 and r.headers["location"].startswith("/phan-anh/theo-doi/")  # the citizen is served
    assert newest().id == rec.id + 1 and newest().voice_key  # and the recording is kept for a later transcript


def test_a_handler_queues_a_transcription_from_the_item_page(client: TestClient) -> None:
    client.app.state.flows = TranscriptionFlows(refuse=True)  # type: ignore[attr-defined]
    post_form(client, files={"voice": ("ghi-am.wav", wav(3), "audio/wav")})  # upload: no Prefect server
    with_voice = newest()
    post_form(client)
    without = newest()
    login(client, "editor_mychanh")  # not a handler of Đa Lộc
    token = csrf(client, "/feedback")
    assert client.post(f"/feedback/{with_voice.id}/transcribe", data={"csrf": token}).status_code == 403
    client.post("/logout", data={"csrf": token})
    login(client, "editor_daloc")
    page = client.get(f"/feedback/{with_voice.id}").text
    assert 'id="fb-transcribe"' in page and "chưa chép" in page
    assert 'id="fb-transcribe"' not in client.get(f"/feedback/{without.id}").text
    token = csrf(client, f"/feedback/{with_voice.id}")
    r = client.post(f"/feedback/{with_voice.id}/transcribe", data={"csrf": token})  # still no server
    assert r.status_code == 303 and "Hệ thống xử lý đang bận" in client.get(f"/feedback/{with_voice.id}").text
    flows = TranscriptionFlows()
    client.app.state.flows = flows  # type: ignore[attr-defined]
    assert client.post(f"/feedback/{with_voice.id}/transcribe", data={"csrf": "wrong"}).status_code == 403
    assert flows.started == []
    r = client.post(f"/feedback/{with_voice.id}/transcribe", data={"csrf": token})
    assert r.headers["location"] == f"/feedback/{with_voice.id}" and flows.started == [with_voice.id]
    assert "Đã đưa tin nhắn thoại vào hàng chờ chép lời" in client.get(f"/feedback/{with_voice.id}").text
    client.post(f"/feedback/{without.id}/transcribe", data={"csrf": token})
    assert flows.started == [with_voice.id]
    assert "không có tin nhắn thoại" in client.get(f"/feedback/{without.id}").text


def test_the_form_names_the_published_bulletin_a_qr_code_cites(client: TestClient) -> None:
    from domain.packages import PackageStatus
    from tests.devices.factory import published_package

    published, _ = published_package(title="Lịch cắt điện ấp Phú Hòa", languages="vi")
    in_review, _ = published_package(title="Bản nháp chưa duyệt", languages="vi", status=PackageStatus.IN_REVIEW)
    page = client.get(f"/phan-anh/{DRAFT_AREA}?ban-tin={published}").text
    assert "Bạn đang phản hồi bản tin: <strong>Lịch cắt điện ấp Phú Hòa</strong>" in page
    assert f'name="cited" value="{published}"' in page
    hidden = client.get(f"/phan-anh/{DRAFT_AREA}?ban-tin={in_review}").text
    assert "Bản nháp chưa duyệt" not in hidden and 'id="fb-cited"' not in hidden  # nothing of an unpublished one
    assert 'id="fb-cited"' not in client.get(f"/phan-anh/{DRAFT_AREA}?ban-tin=99999999").text
    data = {"csrf": csrf(client, f"/phan-anh/{DRAFT_AREA}?ban-tin={published}"), "category": "infrastructure",
            "text": TEXT, "cited": str(published)}
    assert client.post(f"/phan-anh/{DRAFT_AREA}", data=data).status_code == 303
    assert newest().cited_package_id == published
    login(client, "editor_daloc")
    item = client.get(f"/feedback/{newest().id}").text
    assert f'<a href="/packages/{published}">Phản hồi bản tin #{published}</a>' in item
    assert "Liên hệ của người dân" in item
