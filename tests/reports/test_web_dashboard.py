"""The dashboard pages in the web app: drill-down province -> commune -> device -> play log, a bulletin's
coverage, charts as PNG, reports generated and downloaded; area scoping; bad input never a 500."""

import re
from datetime import timedelta
from typing import Any

import pytest

from domain.approvals import Role
from services.runtime import session
from storage.repositories import reports as repo
from storage.repositories import users
from tests.devices.conftest import ADMIN_PASSWORD
from tests.devices.factory import published_package

pytestmark = pytest.mark.integration


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(client: Any, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    token = csrf_of(client.get("/login").text)
    resp = client.post("/login", data={"username": username, "password": password, "csrf": token},
                       follow_redirects=False)
    assert resp.status_code == 303


def test_drill_down_from_province_to_play_log(province, client) -> None:
    pid, manifest = published_package(title="Thông báo thu gom rác", areas=("070",), languages="vi")
    with session() as s:
        t0 = repo.published_times(s, [pid])[pid]
    province.play("a1", manifest, t0 + timedelta(seconds=20))
    login(client)
    assert "/dashboard/area/08" in client.get("/dashboard").text  # a system-wide admin picks a province
    page = client.get("/dashboard/area/08")
    assert page.status_code == 200
    assert 'href="/dashboard/area/070"' in page.text and "Thành phố Tuyên Quang" in page.text
    commune = client.get("/dashboard/area/02200").text
    assert f'href="/dashboard/device/{province.id("a1")}"' in commune
    device = client.get(f"/dashboard/device/{province.id('a1')}").text
    assert "Thông báo thu gom rác" in device and f'href="/dashboard/package/{pid}"' in device
    assert f'href="/dashboard/package/{pid}"' in client.get(f"/packages/{pid}").text  # from the bulletin, one click
    cov = client.get(f"/dashboard/package/{pid}").text
    assert "1/3" in cov and "1/6" in cov  # communes and devices that played it
    assert "mất kết nối từ khi phát hành" in cov
    english = client.get(f"/dashboard/package/{pid}?lang=en").text
    assert "Who heard this bulletin" in english
    chart = client.get("/dashboard/area/08/plays.png")
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")


def test_reports_page_generates_and_downloads(province, client) -> None:
    login(client)
    token = csrf_of(client.get("/reports").text)
    made = client.post("/reports", data={"csrf": token, "period": "2026-Q3", "area": "08", "format": "xlsx"},
                       follow_redirects=True)
    assert made.status_code == 200 and "Đã lập báo cáo." in made.text
    link = re.search(r'href="(/reports/\d+/download)"', made.text)
    assert link
    got = client.get(link.group(1))
    assert got.status_code == 200 and got.content.startswith(b"PK")  # a zip container: XLSX
    bad = client.post("/reports", data={"csrf": token, "period": "2026-09-30..2026-07-01", "area": "08",
                                        "format": "pdf"}, follow_redirects=True)
    assert bad.status_code == 200 and "ngày kết thúc trước ngày bắt đầu" in bad.text
    unknown = client.post("/reports", data={"csrf": token, "period": "2026-Q3", "area": "99", "format": "pdf"},
                          follow_redirects=True)
    assert unknown.status_code == 200 and "không có địa bàn mã" in unknown.text
    by_name = client.post("/reports", data={"csrf": token, "period": "2026-Q3", "area": "Tỉnh Tuyên Quang",
                                            "format": "pdf"}, follow_redirects=True)
    assert by_name.status_code == 200 and "Đã lập báo cáo." in by_name.text  # the field takes names too
    assert by_name.text.count(">Tỉnh Tuyên Quang</a>") == 2  # both reports, named in the table
    future = client.post("/reports", data={"csrf": token, "period": "2099-Q1", "area": "08", "format": "pdf"},
                         follow_redirects=True)
    assert future.status_code == 200 and "kỳ báo cáo" in future.text and "chưa bắt đầu" in future.text
    assert "Traceback" not in future.text


def test_absurd_telemetry_is_counted_on_the_device_page(province, client) -> None:
    """A box sending a negative uptime and 400 °C: the values are dropped, the device page still opens and says
    how many were refused; the sane network type is kept."""
    assert province.inventory("b1", health={"uptime_s": -5, "temperature_c": 400, "network": "wifi"}
                              ).status_code == 204
    login(client)
    page = client.get(f"/dashboard/device/{province.id('b1')}")
    assert page.status_code == 200
    card = " ".join(page.text.split('id="health"')[1].split("</div>")[0].split())
    assert "Giá trị bất thường bị loại: 2" in card
    assert "Nhiệt độ: –" in card and "Mạng: wifi" in card  # 400 °C dropped, the network kept


def test_scoped_user_sees_only_their_area(province, client) -> None:
    with session() as s:
        users.add_user(s, username="can-bo-lam-binh", full_name="Cán bộ Lâm Bình", roles=[Role.APPROVER],
                       area_code="071", password="mat-khau-lam-binh-2026")
    login(client, "can-bo-lam-binh", "mat-khau-lam-binh-2026")
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/dashboard/area/071"
    assert client.get("/dashboard/area/071").status_code == 200
    assert client.get("/dashboard/area/070").status_code == 404
    assert client.get(f"/dashboard/device/{province.id('a1')}").status_code == 404
    assert client.get("/dashboard/area/no-such").status_code == 404
    assert client.get("/dashboard/device/999999").status_code == 404
