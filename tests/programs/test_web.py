"""The programs page: a commune's programmes for tomorrow, and the officer's reorder (rights checked)."""

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from domain.approvals import Role
from domain.areas import AreaLevel
from domain.priority import Priority
from domain.programs import local_date
from domain.users import Membership
from services import programs
from services.runtime import session
from settings import get_settings
from storage.repositories import users
from tests.programs.conftest import MakePackage

PASSWORD = "mat-khau-thu-nghiem-2026"


def _login(client: TestClient, username: str) -> str:
    def csrf() -> str:
        m = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert m
        return m.group(1)
    resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf()},
                       follow_redirects=False)
    assert resp.status_code == 303
    return csrf()


def test_tomorrows_programs_page_and_officer_reorder(home, make_package: MakePackage) -> None:  # type: ignore[no-untyped-def]
    from web.app import create_app

    a = make_package(title="Lịch tiêm phòng", areas_=("29239",), audio={"vi": 40.0})
    b = make_package(title="Thu gom rác", areas_=("842",), audio={"vi": 30.0})
    u = make_package(title="Cảnh báo triều cường", areas_=("84",), audio={"vi": 50.0}, priority=Priority.UU_TIEN)
    with session() as s:
        prog = programs.save_program(s, area_code="29239", name="Bản tin chiều", at="17:00", languages="vi",
                                     actor="op")
        users.add_user(s, username="officer", full_name="Cán bộ Phường 1", password=PASSWORD,
                       memberships=[Membership(Role.APPROVER, "29239", level=AreaLevel.COMMUNE)])
        users.add_user(s, username="officer_p4", full_name="Cán bộ Phường 4", password=PASSWORD,
                       memberships=[Membership(Role.APPROVER, "29236", level=AreaLevel.COMMUNE)])
    client = TestClient(create_app(get_settings()))
    csrf = _login(client, "officer")
    page = client.get("/programs")  # the officer's own commune, tomorrow
    assert page.status_code == 200
    html = page.text
    assert "Bản tin chiều" in html and "17:00" in html and "Chưa dựng" in html
    assert html.index("Cảnh báo triều cường") < html.index("Lịch tiêm phòng") < html.index("Thu gom rác")
    tomorrow = (local_date(datetime.now(UTC)) + timedelta(days=1)).isoformat()
    assert tomorrow in html

    resp = client.post(f"/programs/{prog.id}/reorder", data={
        "csrf": csrf, "area": "29239", "day": tomorrow, f"pos_{u}": "3", f"pos_{a}": "2", f"pos_{b}": "1",
        f"skip_{a}": "1"}, follow_redirects=False)
    assert resp.status_code == 303
    html = client.get(f"/programs?area=29239&day={tomorrow}").text
    # The priority item still comes first; the normal ones follow the officer's order; one is left out.
    assert html.index("Cảnh báo triều cường") < html.index("Thu gom rác") < html.index("Lịch tiêm phòng")
    assert "cán bộ xã bỏ qua" in html

    other = TestClient(create_app(get_settings()))
    csrf = _login(other, "officer_p4")
    denied = other.post(f"/programs/{prog.id}/reorder", data={"csrf": csrf, "area": "29239", "day": tomorrow,
                                                               f"pos_{b}": "1"}, follow_redirects=False)
    assert denied.status_code == 403
