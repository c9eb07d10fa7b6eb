"""The relays page: who sees it, adding slots (refusals in Vietnamese, nothing stored), switching one off."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from settings import get_settings
from tests.web.conftest import PASSWORD
from web.app import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def client(shared_web_home: Path) -> Iterator[TestClient]:
    from services.runtime import session
    from storage.repositories import relays as repo

    with session() as s:  # the module's tests share one home (accounts take seconds to create)
        if repo.find_source(s, "VOV1") is None:
            repo.add_source(s, name="VOV1", url="http://vov.example/vov1.mp3", codec="mp3", actor="admin")
    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def login(client: TestClient, user: str) -> str:
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": token.group(1)})
    assert r.status_code == 303
    page = client.get("/relays")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


def flashes(client: TestClient) -> str:
    return client.get("/relays").text


def test_an_approver_adds_a_slot_and_an_overlap_is_refused_in_vietnamese(client: TestClient) -> None:
    csrf = login(client, "approver_daloc")
    form = {"csrf": csrf, "source": "1", "area": "Xã Đa Lộc", "starts": "06:00", "ends": "06:30", "days": "t2-t6",
            "priority": "uu_tien"}
    assert client.post("/relays/slots", data=form).status_code == 303
    page = flashes(client)
    assert "Đã thêm khung giờ tiếp sóng." in page and "29377 · 06:00-06:30 T2-T6 · VOV1" in page
    r = client.post("/relays/slots", data={**form, "starts": "06:15", "ends": "06:45"})
    assert r.status_code == 303
    page = flashes(client)
    assert "Khung giờ 06:15-06:45 trùng với một khung giờ tiếp sóng khác của địa bàn này." in page
    assert "06:15" not in page.split("Khung giờ 06:15-06:45 trùng")[1]  # not stored
    r = client.post("/relays/slots", data={**form, "starts": "07:30", "ends": "07:00"})
    assert "Giờ kết thúc phải sau giờ bắt đầu, trong cùng một ngày." in flashes(client)
    slot_id = re.search(r'action="/relays/slots/(\d+)/toggle"', page)
    assert slot_id
    r = client.post(f"/relays/slots/{slot_id.group(1)}/toggle", data={"csrf": csrf, "active": "0"})
    assert r.status_code == 303
    assert "Bật lại" in flashes(client)


def test_a_commune_approver_may_not_relay_in_another_commune_nor_add_sources(client: TestClient) -> None:
    csrf = login(client, "approver_mychanh")
    r = client.post("/relays/slots", data={"csrf": csrf, "source": "1", "area": "29377", "starts": "06:00",
                                           "ends": "06:30"})
    assert r.status_code == 403
    assert 'action="/relays/sources"' not in client.get("/relays").text
    r = client.post("/relays/sources", data={"csrf": csrf, "name": "VOV2", "url": "http://127.0.0.1:9/x.mp3"})
    assert r.status_code == 303
    assert "Chỉ quản trị viên mới được thêm nguồn tiếp sóng." in flashes(client)


def test_an_unreachable_source_is_refused_in_vietnamese_and_editors_do_not_see_the_page(client: TestClient) -> None:
    csrf = login(client, "admin")
    r = client.post("/relays/sources", data={"csrf": csrf, "name": "VOV2", "url": "http://127.0.0.1:9/x.mp3"})
    assert r.status_code == 303
    page = flashes(client)
    assert "Không kết nối được tới nguồn tiếp sóng. Kiểm tra lại địa chỉ luồng." in page
    assert "VOV2" not in page
    client.post("/logout", data={"csrf": csrf})
    login(client, "editor_daloc")
    assert client.get("/relays").status_code == 403
