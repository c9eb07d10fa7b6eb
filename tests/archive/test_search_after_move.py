"""Issue 15 on the search page: after 'areas migrate --to 2025', searching a current commune finds the bulletins
filed under the old commune it absorbed, and each result names both units (the old code and name, and what it
is part of now); searching the old name's new unit by name works too."""

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.packages import PackageStatus
from services import areas as area_service
from services.archive import indexing
from services.runtime import object_store, session
from settings import get_settings
from tests.archive.test_packages_web_cli import make_package
from tests.web.conftest import web_home  # noqa: F401 (fixture)
from tests.web.test_authz import login
from web.app import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def client(web_home: Path) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def test_a_current_commune_finds_its_old_units_bulletins_with_both_names(client: TestClient) -> None:
    daloc = make_package("29377", "Thông báo cắt điện", "UBND xã Đa Lộc thông báo lịch cắt điện.", ("vi",),
                         PackageStatus.PUBLISHED)
    with session() as s:
        indexing.index_package(s, object_store(), daloc)
        # the legacy accounts name district 847 (divided in 2025) and commune 02485 is not used: one assignment
        report = area_service.migrate(s, actor="admin", to="2025", assign=["847=86"], dry_run=False)
        assert report.written, report.conflicts
    login(client, "admin")
    for area in ("29374", "chau thanh, vinh long"):
        page = client.get("/search", params={"q": "cat dien", "area": area})
        assert page.status_code == 200, page.text[:300]
        assert f'href="/packages/{daloc}"' in page.text
        assert "· Xã Đa Lộc (nay thuộc Xã Châu Thành)" in page.text and "29377" not in page.text


def test_an_ambiguous_or_unknown_area_is_refused_in_the_officers_words(client: TestClient) -> None:
    login(client, "admin")
    page = client.get("/search", params={"q": "cat dien", "area": "Châu Thành"})
    assert page.status_code == 422 and "bantin areas" not in page.text
    assert "Có 2 địa bàn tên “Châu Thành”: 847 Huyện Châu Thành (Tỉnh Trà Vinh); 29374 Thị trấn Châu Thành " \
           "(Tỉnh Trà Vinh)." in html.unescape(page.text)
    unknown = client.get("/search", params={"q": "cat dien", "area": "99999"})
    assert unknown.status_code == 422 and "bantin areas" not in unknown.text
    assert "Không tìm thấy địa bàn này; hãy nhập mã hoặc tên xã, phường, tỉnh." in unknown.text
