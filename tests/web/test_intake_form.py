"""The draft form shows what cleaning removed, asks for confirmation, and keeps a line in one click."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.drafts import DraftContent
from domain.packages import PackageStatus
from domain.priority import Priority
from services import credentials
from services.runtime import session
from settings import get_settings
from storage.repositories import drafts, packages
from tests.web.test_authz import RecordingFlows, csrf_of, login
from web.app import create_app

pytestmark = pytest.mark.integration

PAGE = "\n".join((
    "English | Khmer", "Trang chủ | Giới thiệu | Liên hệ", "Đang online: 12", "Xem cỡ chữ A+ A-",
    "Lịch cắt điện thôn Đông ngày 10/12/2026",
    "Điện lực xã cắt điện thôn Đông từ 7 giờ đến 11 giờ ngày 10/12/2026 để sửa đường dây.",
    "Nguyễn Văn An",
))


def test_heavy_cleaning_is_confirmed_and_a_removed_line_kept(web_home: Path) -> None:
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with TestClient(app, follow_redirects=False) as client:
        csrf = login(client, "editor_daloc")
        form = {"title": "", "body": PAGE, "area": "29377", "languages": "vi", "priority": "thuong", "csrf": csrf}
        resp = client.post("/drafts", data=form)
        assert resp.status_code == 422
        assert 'name="confirm_cleaning"' in resp.text
        assert "English | Khmer" in resp.text and 'name="keep" value="7"' in resp.text
        assert "(hơn một nửa). Hãy xem lại các dòng bị bỏ bên dưới" in resp.text
        assert "Cleaning removed" not in resp.text  # the officer's language only, not a bilingual message
        resp = client.post("/drafts", data={**form, "csrf": csrf_of(client), "confirm_cleaning": "1"})
        assert resp.status_code == 303, resp.text[:400]
        draft_id = int(resp.headers["location"].rsplit("/", 1)[1])
        with session() as s:
            first = drafts.latest_revision(s, draft_id)
        assert first.content.title == "Lịch cắt điện thôn Đông ngày 10/12/2026"
        assert "Nguyễn Văn An" not in first.content.body
        page = client.get(f"/drafts/{draft_id}").text
        assert f'action="/drafts/{draft_id}/keep"' in page and "Chọn ngôn ngữ của trang" in page
        resp = client.post(f"/drafts/{draft_id}/keep", data={"keep": "7", "csrf": csrf_of(client)})
        assert resp.status_code == 303
        with session() as s:
            kept = drafts.latest_revision(s, draft_id)
        assert kept.number == 2
        assert kept.content.body.split("\n") == [
            "Điện lực xã cắt điện thôn Đông từ 7 giờ đến 11 giờ ngày 10/12/2026 để sửa đường dây.", "Nguyễn Văn An"]
        assert kept.source_key == first.source_key  # the original stays the source
        page = client.get(f"/drafts/{draft_id}").text
        assert 'name="keep" value="7"' not in page
        assert "Đã giữ lại dòng 7 mà bộ lọc đã bỏ." in page and "kept lines" not in page


def test_missing_title_is_highlighted(web_home: Path) -> None:
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    body = ("KẾ HOẠCH\nỦy ban nhân dân xã thông báo đến toàn thể bà con nhân dân về việc tổ chức tiêm vắc xin phòng "
            "bệnh sởi cho trẻ em từ một đến năm tuổi tại trạm y tế xã trong tuần tới.")
    with TestClient(app, follow_redirects=False) as client:
        csrf = login(client, "editor_daloc")
        resp = client.post("/drafts", data={"title": "", "body": body, "area": "29377", "languages": "vi",
                                            "priority": "thuong", "csrf": csrf})
        assert resp.status_code == 422
        assert 'class="invalid" aria-invalid="true"' in resp.text
        assert "Chưa có tiêu đề phù hợp: hãy nhập tiêu đề của bản tin." in resp.text
        assert "No usable title" not in resp.text


def test_old_news_warning_on_the_draft_page(web_home: Path) -> None:
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    page = (Path(__file__).parents[1] / "data" / "intake" / "23-quyet-dinh-cu.raw.txt").read_text(encoding="utf-8")
    with TestClient(app, follow_redirects=False) as client:
        csrf = login(client, "editor_daloc")
        resp = client.post("/drafts", data={"title": "", "body": page, "area": "29377", "languages": "vi",
                                            "priority": "thuong", "csrf": csrf, "confirm_cleaning": "1"})
        assert resp.status_code == 303, resp.text[:400]
        shown = client.get(resp.headers["location"]).text
        assert 'class="flash error freshness" role="alert">Tin có thể đã cũ: ngày mới nhất trong bản tin là ' \
               '20/05/2011' in shown


def test_api_asks_for_confirmation_of_heavy_cleaning(web_home: Path) -> None:
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with TestClient(app) as client:
        with session() as s:
            token = credentials.create_api_token(s, "editor_daloc", days=1, actor="editor_daloc")[1]
        headers = {"Authorization": "Bearer " + token}
        body = {"title": "", "body": PAGE, "areas": ["29377"]}
        refused = client.post("/api/v1/drafts", json={**body, "title": "Lịch cắt điện thôn Đông"}, headers=headers)
        assert refused.status_code == 422 and "more than half" in refused.text
        made = client.post("/api/v1/drafts", json={**body, "title": "Lịch cắt điện thôn Đông ngày 10/12/2026",
                                                   "confirm_cleaning": True, "keep_lines": [7]}, headers=headers)
        assert made.status_code == 201, made.text
        with session() as s:
            rev = drafts.latest_revision(s, made.json()["id"])
        assert rev.content.body.split("\n") == [
            "Điện lực xã cắt điện thôn Đông từ 7 giờ đến 11 giờ ngày 10/12/2026 để sửa đường dây.", "Nguyễn Văn An"]


def test_an_all_boilerplate_page_is_refused_with_the_removed_lines_and_nothing_stored(web_home: Path) -> None:
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with TestClient(app, follow_redirects=False) as client:
        csrf = login(client, "editor_daloc")
        with session() as s:
            before = len(drafts.list_drafts(s))
        resp = client.post("/drafts", data={"title": "Tin mới", "body": "English | Khmer\nTrang chủ | Giới thiệu | "
                                            "Liên hệ\nĐang online: 12\nXem cỡ chữ A+ A-", "area": "29377",
                                            "languages": "vi", "priority": "thuong", "csrf": csrf})
        assert resp.status_code == 422
        assert "Bản thảo chỉ có phần thừa của trang web" in resp.text
        assert "English | Khmer" in resp.text and "Đang online: 12" in resp.text  # every removed line is listed
        assert "Tin mới" in resp.text  # the typed form comes back
        with session() as s:
            assert len(drafts.list_drafts(s)) == before


def test_the_approver_sees_old_news_and_a_past_expiry_on_the_package_page(web_home: Path) -> None:
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with session() as s:  # submitted before its expiry passed; a 2011 decision pasted as news
        rev = drafts.create_draft(s, author="editor_daloc", content=DraftContent(
            title="Quyết định phê duyệt giá đất", body="Ngày 16/05/2011, Ủy ban nhân dân tỉnh ban hành quyết định "
            "phê duyệt giá đất.", area_codes=("29377",), languages=("vi",), priority=Priority.THUONG,
            expires_at=datetime.now(UTC) - timedelta(hours=2)))
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        packages.set_status(s, pkg, PackageStatus.IN_REVIEW, actor="system")
        package_id = pkg.id
    with TestClient(app, follow_redirects=False) as client:
        login(client, "approver_daloc")
        page = client.get(f"/packages/{package_id}").text
        assert ('class="flash error freshness" role="alert">Tin có thể đã cũ: ngày mới nhất trong bản tin là '
                "16/05/2011") in page
        assert 'class="flash error freshness" role="alert">Bản tin đã hết hạn lúc' in page
