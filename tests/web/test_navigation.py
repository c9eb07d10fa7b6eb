"""The phone-first menu (only what the role may use, with counts), the review page's order and
confirmations, and search results before the folded filters."""

import re

import pytest
from fastapi.testclient import TestClient

from domain.deliveries import DeliveryStatus, DestinationKind
from services.runtime import session
from storage.repositories import destinations, outbox
from tests.web.test_authz import login, make_item

pytestmark = pytest.mark.integration



def menu_of(page: str) -> dict[str, str]:
    """href -> the link's text (with its count) of the header menu."""
    menu = re.search(r'<ul class="menu">(.*?)</ul>', page, re.S)
    assert menu is not None
    return {href: re.sub(r"<[^>]+>", "", text).strip() for href, text in
            re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', menu.group(1), re.S)}


def test_the_menu_shows_each_role_only_its_links_with_counts(fresh: TestClient) -> None:
    for _ in range(2):
        make_item()  # two bulletins in review for Đa Lộc, each with a Khmer variant awaiting a translator
    login(fresh, "editor_daloc")
    page = fresh.get("/").text
    assert 'id="menu-toggle"' in page and '<label for="menu-toggle"' in page
    assert menu_of(page) == {"/": "Bản thảo", "/dashboard": "Tổng quan vận hành", "/reports": "Báo cáo định kỳ",
                             "/drafts/new": "Bản thảo mới", "/translations": "Cần dịch 2",
                             "/search": "Tra cứu lưu trữ", "/programs": "Chương trình phát thanh",
                             "/feedback": "Phản ánh"}

    approver = TestClient(fresh.app, follow_redirects=False)
    login(approver, "approver_daloc")
    links = menu_of(approver.get("/").text)
    assert links["/queue"] == "Chờ duyệt 2" and "/drafts/new" not in links and "/devices" not in links
    assert "/translations" not in links and "/admin" not in links

    translator = TestClient(fresh.app, follow_redirects=False)
    login(translator, "translator_km")
    assert menu_of(translator.get("/").text)["/translations"] == "Cần dịch 2"

    admin = TestClient(fresh.app, follow_redirects=False)
    login(admin, "admin")
    links = menu_of(admin.get("/").text)
    assert links["/deliveries?dead=1"] == "Hàng đợi gửi" and "/admin" in links and "/devices" in links
    _, package_id, _ = make_item()
    with session() as s:
        dest = destinations.add_destination(s, name="htttn-tinh", kind=DestinationKind.HTTTN, url="http://127.0.0.1:9/")
        d = outbox.ensure(s, package_id=package_id, manifest_hash="a" * 64, destination_id=dest.id)
        outbox.set_status(s, d, DeliveryStatus.SENDING)
        outbox.set_status(s, d, DeliveryStatus.DEAD, error="HTTP 503")
    assert menu_of(admin.get("/").text)["/deliveries?dead=1"] == "Hàng đợi gửi 1"


def test_review_page_puts_content_before_decisions_that_ask_for_confirmation(fresh: TestClient) -> None:
    login(fresh, "approver_daloc")
    _, package_id, _ = make_item()
    page = fresh.get(f"/packages/{package_id}").text
    script, decision = page.index("Kịch bản phát thanh"), page.index('id="decision"')
    assert script < decision
    approve_form = page.index(f'action="/packages/{package_id}/approve"')
    assert decision < approve_form
    # each decision opens a confirmation step first (no script needed)
    assert page.count('<details class="confirm">') == 2
    assert "Duyệt và phát hành gói tin này?" in page and "Từ chối gói tin này?" in page


def test_search_results_come_before_the_folded_filters(fresh: TestClient) -> None:
    login(fresh, "approver_daloc")
    blank = fresh.get("/search").text
    assert '<details class="filters" open>' in blank  # nothing searched yet: the filters are at hand
    page = fresh.get("/search?q=cat+dien").text
    assert '<details class="filters">' in page  # folded once there are results to read
    assert page.index('id="result-count"') > page.index('<input id="q"')
    filtered = fresh.get("/search?q=cat+dien&priority=khan_cap").text
    assert '<details class="filters" open>' in filtered  # a filter in use stays visible


def test_approving_an_emergency_with_a_language_missing_warns_first(fresh: TestClient) -> None:
    from storage.models import DraftRevisionRecord
    from storage.repositories import packages

    login(fresh, "approver_travinh")  # emergencies are approved at province level
    _, normal, _ = make_item()  # Khmer blocked, normal priority: no warning
    assert 'id="missing-languages"' not in fresh.get(f"/packages/{normal}").text
    _, urgent, _ = make_item()
    with session() as s:
        s.get(DraftRevisionRecord, packages.get_package(s, urgent).revision_id).priority = "khan_cap"
    page = fresh.get(f"/packages/{urgent}").text
    warning = re.search(r'id="missing-languages">([^<]*)</div>', page)
    assert warning is not None
    assert warning.group(1) == "Tin khẩn cấp này sẽ phát đi khi còn thiếu bản ngôn ngữ: Tiếng Khmer"
    assert page.index('id="missing-languages"') < page.index(f'action="/packages/{urgent}/approve"')


def test_errors_of_services_and_crashes_are_vietnamese_pages(fresh: TestClient) -> None:
    from domain.errors import InvalidInput

    def boom() -> None:
        raise RuntimeError("/tmp/secret/path exploded")

    def refused() -> None:
        raise InvalidInput("unknown area code(s): 99999 (see 'bantin areas list')")

    fresh.app.add_api_route("/boom", boom)
    fresh.app.add_api_route("/refused", refused)
    fresh.app.add_api_route("/api/v1/boom", boom)
    quiet = TestClient(fresh.app, follow_redirects=False, raise_server_exceptions=False)
    crash = quiet.get("/boom")
    assert crash.status_code == 500 and "Máy chủ gặp lỗi" in crash.text and "/tmp" not in crash.text
    assert quiet.get("/api/v1/boom").json() == {"error": "internal server error"}
    page = quiet.get("/refused")
    assert page.status_code == 422
    assert "Không có địa bàn mang mã 99999." in page.text and "bantin areas" not in page.text
