"""The web draft form takes an area's name as well as its code (same service as the CLI)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.runtime import session
from settings import get_settings
from storage.repositories import drafts
from tests.web.test_authz import RecordingFlows, login
from web.app import create_app

pytestmark = pytest.mark.integration
BODY = "Mời bà con dự họp dân lúc 19 giờ tại nhà văn hóa ấp để bàn việc làm đường."


@pytest.fixture
def client(web_home: Path) -> Iterator[TestClient]:
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with TestClient(app, follow_redirects=False) as c:
        yield c


def test_a_draft_named_by_its_commune_and_a_name_that_matches_nothing(client: TestClient) -> None:
    csrf = login(client, "editor_daloc")
    ok = client.post("/drafts", data={"title": "Họp dân", "body": BODY, "area": "xa da loc", "languages": "vi",
                                      "priority": "thuong", "csrf": csrf})
    assert ok.status_code == 303, ok.text[:300]
    with session() as s:
        assert [list(r.area_codes) for r in drafts.list_drafts(s)] == [["29377"]]
    unknown = client.post("/drafts", data={"title": "Họp dân", "body": BODY, "area": "Xã Không Có", "languages": "vi",
                                           "priority": "thuong", "csrf": csrf})
    assert unknown.status_code == 422 and "Xã Không Có" in unknown.text
    with session() as s:
        assert len(drafts.list_drafts(s)) == 1  # nothing stored for the bad one


def test_lists_and_pages_name_the_areas_instead_of_showing_codes(client: TestClient) -> None:
    csrf = login(client, "editor_daloc")
    ok = client.post("/drafts", data={"title": "Họp dân", "body": BODY, "area": "29377", "languages": "vi",
                                      "priority": "thuong", "csrf": csrf})
    assert ok.status_code == 303, ok.text[:300]
    listing = client.get("/").text
    assert "· Xã Đa Lộc ·" in listing and "29377" not in listing
    page = client.get(ok.headers["location"]).text
    assert "· Xã Đa Lộc ·" in page and "· 29377 ·" not in page


def test_admin_users_names_the_area_of_each_role(client: TestClient) -> None:
    login(client, "admin")
    page = client.get("/admin/users").text
    assert "Huyện Châu Thành · cấp huyện" in page and "· 847 ·" not in page


def test_area_fields_say_they_take_names(client: TestClient) -> None:
    login(client, "editor_daloc")
    assert "Địa bàn (tên hoặc mã)" in client.get("/drafts/new").text
    search = client.get("/search").text
    assert 'placeholder="Châu Thành, Vĩnh Long"' in search and 'placeholder="847"' not in search
