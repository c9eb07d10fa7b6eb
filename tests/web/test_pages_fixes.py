"""Page behaviour an officer meets: seekable audio, error pages in Vietnamese that keep what was typed,
stale links pointing at the package in force, and the small mis-wordings of the walk-through.

Flow starts are recorded instead of run.
"""

import re

import pytest
from fastapi.testclient import TestClient

from domain.packages import PackageStatus
from services import translations as translation_service
from services.runtime import session
from storage.repositories import drafts, packages, translations
from tests.web.accounts import api_token
from tests.web.test_authz import login, make_item
from tests.web.test_catalogues import visible_text

pytestmark = pytest.mark.integration



def _replace(package_id: int) -> int:
    """Supersede the package with a new one of the same draft, in review; the new package's id."""
    with session() as s:
        old = packages.get_package(s, package_id)
        packages.set_status(s, old, PackageStatus.SUPERSEDED, actor="test")
        new = packages.create_package(s, draft_id=old.draft_id, revision_id=old.revision_id, actor="system")
        new.manifest_hash = "f" * 64
        packages.set_status(s, new, PackageStatus.IN_REVIEW, actor="system")
        return new.id


def test_assets_answer_byte_ranges(client: TestClient) -> None:
    login(client, "approver_daloc")
    _, package_id, key = make_item()  # the stored script is b"script <id>"
    whole = f"script {package_id}".encode()
    full = client.get(f"/assets/{key}")
    assert full.status_code == 200 and full.content == whole and full.headers["accept-ranges"] == "bytes"
    part = client.get(f"/assets/{key}", headers={"Range": "bytes=2-5"})
    assert part.status_code == 206 and part.content == b"ript"
    assert part.headers["content-range"] == f"bytes 2-5/{len(whole)}"
    tail = client.get(f"/assets/{key}", headers={"Range": "bytes=-3"})
    assert tail.status_code == 206 and tail.content == whole[-3:]
    rest = client.get(f"/assets/{key}", headers={"Range": "bytes=7-"})
    assert rest.status_code == 206 and rest.content == str(package_id).encode()
    past = client.get(f"/assets/{key}", headers={"Range": "bytes=999-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(whole)}"


def test_package_tab_title_is_plain_text_and_areas_are_named(client: TestClient) -> None:
    """The package page names its areas, in the header and in the approval still needed (codes mean nothing to
    an officer); the publication phase is a sentence that wraps inside its card."""
    login(client, "approver_daloc")
    _, package_id, _ = make_item()
    page = client.get(f"/packages/{package_id}").text
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title is not None and title.group(1).strip() == f"Thông báo cắt điện · Gói tin #{package_id} · bantin"
    text = " ".join(visible_text(page).split())
    assert "Cần duyệt ở cấp: cấp xã · Xã Đa Lộc" in text
    assert "Lần sửa 1 · Xã Đa Lộc" in text
    assert "29377" not in text
    assert re.search(r'id="publication-phase"><span class="badge phrase [a-z]+">Chưa phát hành: ', page)


def test_unknown_urls_are_vietnamese_pages_and_json_for_the_api(client: TestClient) -> None:
    login(client, "editor_daloc")
    for path in ("/drafts/abc", "/khong-co-trang-nay", "/packages/12x"):
        resp = client.get(path)
        assert resp.status_code == 404 and resp.headers["content-type"].startswith("text/html"), path
        assert "Không tìm thấy trang này" in resp.text and '"detail"' not in resp.text
    api = client.get("/api/v1/khong-co")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    assert client.get("/api/v1/packages/abc").status_code in (401, 422)  # JSON either way
    assert client.get("/api/v1/packages/abc").headers["content-type"] == "application/json"


def test_a_body_over_one_megabyte_comes_back_in_the_form_with_a_vietnamese_reason(client: TestClient) -> None:
    csrf = login(client, "editor_daloc")
    body = "Thông báo họp dân. " * 60_000 + "CUỐI-VĂN-BẢN"  # about 1.2 MB of UTF-8
    assert len(body.encode()) > 1_100_000
    resp = client.post("/drafts", data={"csrf": csrf, "title": "Họp dân", "body": body, "area": "29377",
                                        "languages": "vi", "priority": "thuong"},
                       files={"recording": ("", b"", "application/octet-stream")})
    assert resp.status_code == 422
    assert "Nội dung quá dài (1140012 ký tự; tối đa 30000 ký tự)" in resp.text
    assert "CUỐI-VĂN-BẢN</textarea>" in resp.text  # nothing typed is lost


def test_translate_form_refuses_replaced_packages_and_languages_the_bulletin_lacks(client: TestClient) -> None:
    login(client, "translator_km")
    _, package_id, _ = make_item()  # asks for vi and km
    cham = client.get(f"/packages/{package_id}/translate/cjm")
    assert cham.status_code in (403, 404) and "<textarea" not in cham.text
    editor = TestClient(client.app, follow_redirects=False)
    login(editor, "editor_daloc")  # the area's editor may edit every language, so reaches the check itself
    resp = editor.get(f"/packages/{package_id}/translate/cjm")
    assert resp.status_code == 404 and "Bản tin này không có bản tiếng Chăm để dịch." in resp.text
    new_id = _replace(package_id)
    stale = client.get(f"/packages/{package_id}/translate/km")
    assert stale.status_code == 409 and "<textarea" not in stale.text
    assert f'href="/packages/{new_id}"' in stale.text and "Mở gói tin hiện tại" in stale.text


def test_typed_khmer_survives_a_refused_translation(client: TestClient) -> None:
    csrf = login(client, "translator_km")
    _, package_id, _ = make_item()
    _replace(package_id)
    typed = "សូមជម្រាបជូនបងប្អូន"
    resp = client.post(f"/packages/{package_id}/translate/km", data={"csrf": csrf, "script": typed,
                                                                   "board_text": "ការចាក់"})
    assert resp.status_code == 422 and typed in resp.text
    assert "Gói tin này không còn ở trạng thái chờ duyệt." in resp.text


def test_a_stale_approval_links_to_the_package_in_force(client: TestClient) -> None:
    csrf = login(client, "approver_daloc")
    _, package_id, _ = make_item()
    with session() as s:
        reviewed = packages.get_package(s, package_id).manifest_hash
    new_id = _replace(package_id)
    resp = client.post(f"/packages/{package_id}/approve", data={"csrf": csrf, "manifest_hash": reviewed})
    assert resp.status_code == 409
    assert "Gói tin này đã được thay thế bằng một gói tin mới." in resp.text
    assert f'href="/packages/{new_id}"' in resp.text
    with session() as s:
        assert packages.get_package(s, new_id).status == PackageStatus.IN_REVIEW


def test_an_empty_title_is_named_and_the_typed_body_kept(client: TestClient) -> None:
    csrf = login(client, "editor_daloc")
    draft_id, _, _ = make_item()
    body = "Điện lực thông báo cắt điện từ 9 giờ đến 11 giờ ngày 6/12."
    resp = client.post(f"/drafts/{draft_id}/edit", data={"csrf": csrf, "title": "  ", "body": body})
    assert resp.status_code == 422
    assert "Bản thảo chưa có tiêu đề: hãy nhập tiêu đề." in resp.text and "chưa có nội dung" not in resp.text
    assert f">{body}</textarea>" in resp.text
    with session() as s:
        assert drafts.latest_revision(s, draft_id).number == 1  # nothing stored


def test_the_editor_sees_why_a_package_was_rejected(client: TestClient) -> None:
    csrf = login(client, "approver_daloc")
    draft_id, package_id, _ = make_item()
    assert client.post(f"/packages/{package_id}/reject",
                       data={"csrf": csrf, "reason": "Sai giờ cắt điện, kiểm tra lại"}).status_code == 303
    editor = TestClient(client.app, follow_redirects=False)
    login(editor, "editor_daloc")
    page = editor.get(f"/drafts/{draft_id}").text
    assert 'id="rejections"' in page and "Sai giờ cắt điện, kiểm tra lại" in page and "approver_daloc" in page


def test_translation_queue_puts_emergencies_first(client: TestClient) -> None:
    from storage.models import DraftRevisionRecord

    make_item()
    _, urgent, _ = make_item()  # made later, so last by id
    with session() as s:
        s.get(DraftRevisionRecord, packages.get_package(s, urgent).revision_id).priority = "khan_cap"
    with session() as s:
        rows = translation_service.pending_translations(s, "translator_km")
    assert len(rows) >= 2 and rows[0]["package_id"] == urgent
    assert {r["priority"] for r in rows[1:]} == {"thuong"}
    login(client, "translator_km")
    page = client.get("/translations").text
    links = re.findall(r'href="/packages/(\d+)/translate/km"', page)
    assert links[0] == str(urgent) and len(links) >= 2


def test_login_returns_to_the_page_asked_for_and_only_to_this_site(client: TestClient) -> None:
    _, package_id, _ = make_item()
    resp = client.get(f"/packages/{package_id}?lang=vi")
    assert resp.status_code == 303 and resp.headers["location"] == f"/login?next=%2Fpackages%2F{package_id}%3Flang%3Dvi"
    page = client.get(resp.headers["location"]).text
    assert f'name="next" value="/packages/{package_id}?lang=vi"' in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    from tests.web.conftest import PASSWORD

    back = client.post("/login", data={"csrf": csrf, "username": "approver_daloc", "password": PASSWORD,
                                       "next": f"/packages/{package_id}?lang=vi"})
    assert back.status_code == 303 and back.headers["location"] == f"/packages/{package_id}?lang=vi"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        other = TestClient(client.app, follow_redirects=False)
        token = re.search(r'name="csrf" value="([^"]+)"', other.get("/login").text).group(1)  # type: ignore[union-attr]
        r = other.post("/login", data={"csrf": token, "username": "approver_daloc", "password": PASSWORD,
                                       "next": evil})
        assert r.headers["location"] == "/", evil


def test_the_draft_form_names_languages_in_vietnamese(client: TestClient) -> None:
    login(client, "editor_daloc")
    help_line = re.search(r'id="languages-help">([^<]*)<', client.get("/drafts/new").text)
    assert help_line is not None
    assert "km: Tiếng Khmer" in help_line.group(1) and "cjm: Tiếng Chăm" in help_line.group(1)
    english = re.search(r'id="languages-help">([^<]*)<', client.get("/drafts/new?lang=en").text)
    assert english is not None and "km: Khmer" in english.group(1)


def test_a_translation_carries_its_title_from_the_form_and_the_api(client: TestClient) -> None:
    csrf = login(client, "translator_km")
    _, package_id, _ = make_item()
    form = client.get(f"/packages/{package_id}/translate/km").text
    assert 'name="title"' in form and "Tiêu đề bản dịch (Tiếng Khmer)" in form
    typed = "សូមជម្រាបជូនបងប្អូន"
    too_long = client.post(f"/packages/{package_id}/translate/km", data={
        "csrf": csrf, "title": "ក" * 201, "script": typed, "board_text": "ការចាក់"})
    assert too_long.status_code == 422 and "Tiêu đề phải nằm trên một dòng, tối đa 200 ký tự." in too_long.text
    assert typed in too_long.text  # nothing typed is lost
    with session() as s:
        revision_id = packages.get_package(s, package_id).revision_id
        assert translations.latest_translation(s, revision_id, "km") is None  # and nothing stored
    done = client.post(f"/packages/{package_id}/translate/km", data={
        "csrf": csrf, "title": " ការកាត់ភ្លើង ", "script": typed, "board_text": "ការចាក់"})
    assert done.status_code == 303
    with session() as s:
        assert translations.latest_translation(s, revision_id, "km").title == "ការកាត់ភ្លើង"  # "Power cut"

    _, api_package, _ = make_item()
    headers = {"Authorization": "Bearer " + api_token("translator_km")}
    resp = client.post(f"/api/v1/packages/{api_package}/translations/km", headers=headers,
                       json={"script": typed, "board_text": "ការចាក់", "title": "ការកាត់ភ្លើង"})
    assert resp.status_code == 202
    with session() as s:
        api_revision = packages.get_package(s, api_package).revision_id
        assert translations.latest_translation(s, api_revision, "km").title == "ការកាត់ភ្លើង"
