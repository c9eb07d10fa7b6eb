"""Issue 15 in the web admin, on today's two-tier units: a role's area is typed as a code or a name (with or
without diacritics); an ambiguous name, or a unit that no longer exists, is refused in Vietnamese with the
candidates listed, and nothing is stored."""

import html
import re

import pytest
from fastapi.testclient import TestClient

from services.runtime import session
from storage.repositories import users
from tests.web.test_authz import login

pytestmark = pytest.mark.integration


@pytest.fixture
def client(two_tier_client: TestClient) -> TestClient:
    return two_tier_client


def flash_error(page: str) -> str:
    m = re.search(r'<div class="flash error" role="status">([^<]*)</div>', page)
    assert m, "no error shown"
    return html.unescape(m.group(1))


def new_user(client: TestClient, csrf: str, username: str, role: str, area: str, extra: str = "") -> object:
    return client.post("/admin/users", data={"csrf": csrf, "username": username, "full_name": username.title(),
                                             "role": role, "area": area, "extra": extra,
                                             "password": "mat-khau-moi-cua-nguoi-dung-2026"})


def specs(username: str) -> list[str] | None:
    with session() as s:
        user = users.find_user(s, username)
        return None if user is None else [m.spec for m in users.memberships_of(user)]


def test_names_with_and_without_diacritics_make_roles(client: TestClient) -> None:
    csrf = login(client, "admin")
    assert new_user(client, csrf, "tuan", "editor", "chau thanh, vinh long").status_code == 303
    assert new_user(client, csrf, "tinh", "approver", "Tỉnh Vĩnh Long", "province").status_code == 303
    assert specs("tuan") == ["editor:29374"] and specs("tinh") == ["approver:86:province"]
    granted = client.post("/admin/users/tuan/grant", data={"csrf": csrf, "role": "translator", "area": "Vinh Long",
                                                           "extra": "km"})
    assert granted.status_code == 303 and specs("tuan") == ["editor:29374", "translator:86:km"]


def test_an_ambiguous_or_former_name_lists_the_candidates_and_stores_nothing(client: TestClient) -> None:
    csrf = login(client, "admin")
    ambiguous = new_user(client, csrf, "an", "editor", "Châu Thành")
    assert ambiguous.status_code == 422
    assert flash_error(ambiguous.text) == (
        "Có 5 địa bàn tên “Châu Thành”: 25585 Xã Châu Thành (Tỉnh Tây Ninh); 28519 Xã Châu Thành (Tỉnh Đồng Tháp); "
        "29374 Xã Châu Thành (Tỉnh Vĩnh Long); 30880 Xã Châu Thành (Tỉnh An Giang); 31366 Xã Châu Thành "
        "(Thành phố Cần Thơ). Hãy nhập mã, hoặc thêm tên tỉnh sau dấu phẩy (ví dụ: Châu Thành, Vĩnh Long).")
    assert 'value="an"' in ambiguous.text  # the form as typed
    former = new_user(client, csrf, "an", "editor", "xa da loc, tra vinh")
    assert former.status_code == 422
    assert flash_error(former.text) == (
        "“xa da loc, tra vinh” không còn là đơn vị hành chính từ ngày 1/7/2025 (trước đây: 29377 Xã Đa Lộc "
        "(Tỉnh Trà Vinh) -> 29374 Xã Châu Thành (Tỉnh Vĩnh Long)). Hãy dùng mã hoặc tên đơn vị mới.")
    old_code = new_user(client, csrf, "an", "editor", "29377")
    assert old_code.status_code == 422 and "(trước đây: 29377 Xã Đa Lộc (Tỉnh Trà Vinh) -> 29374" in \
        flash_error(old_code.text)
    close = client.post("/admin/users/approver_ct/grant", data={"csrf": csrf, "role": "editor", "area": "chau th"})
    assert close.status_code == 422 and flash_error(close.text).startswith(
        "Không có địa bàn “chau th”. Có phải: 25585 Xã Châu Thành (Tỉnh Tây Ninh); ")
    assert specs("an") is None and specs("approver_ct") == ["approver:29374:commune"]
