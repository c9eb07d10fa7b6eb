"""The officer's walk at 360 px, checked in Chromium: form fields of every type as wide as the card, the board's
text in its fixed lines, the reports table scrolling inside its card without splitting values, and the feedback
queue's button apart from the link beside it. Screenshots are kept in test-artifacts/ to look at."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.packages import AssetKind
from services import feedback_intake
from services.runtime import object_store, session
from storage.repositories import packages, reports
from tests.web.accounts import DRAFT_AREA
from tests.web.conftest import ARTIFACTS, PHONE, no_horizontal_scroll, sign_in
from tests.web.test_authz import make_item

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BOARD = ("Thông báo lịch cắt điện ngày\n12/12/2026 trên địa bàn xã Đa Lộc.\n"
         "Thời gian cắt điện từ 7 giờ 00\nđến 16 giờ 30 ngày Thứ Bảy.")


def _data() -> int:
    _, package_id, _ = make_item()
    with session() as s:
        board = object_store().put_bytes(BOARD.encode(), ext="txt", media_type="text/plain")
        packages.record_asset(s, package_id=package_id, language="vi", kind=AssetKind.BOARD_TEXT, stored=board,
                              meta={})
        reports.add_report(s, period="2026-11", kind="month", area_code=DRAFT_AREA, format="pdf", key="r/1.pdf",
                           sha256="0" * 64, size=123456, cut_off="2026-12-07", figures={}, created_by="admin")
        feedback_intake.submit(s, object_store(), feedback_intake.Submission(
            area_code=DRAFT_AREA, category="infrastructure", text="Cống thoát nước ở ấp Phú Hòa bị tắc đã lâu."),
            now=datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    return package_id


def _width(page, selector: str) -> float:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    assert box, selector
    return float(box["width"])


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"walk-{name}-360.png"), full_page=True)


def test_pages_at_360_px(web_home: Path, web_address: str, chromium) -> None:  # type: ignore[no-untyped-def]
    package_id = _data()
    page = chromium.new_context(viewport=PHONE, locale="vi-VN").new_page()
    sign_in(page, web_address, "admin")
    card = PHONE["width"] - 2 * 16 - 2 * 17  # main's padding, the card's border and padding: about 292 px

    page.goto(f"{web_address}/live")
    _shot(page, "live")
    for field in ("#live-areas", "#live-title"):
        assert _width(page, field) >= card - 4, field  # was about 200 px, beside its label
    page.goto(f"{web_address}/programs?area={DRAFT_AREA}&day=2026-12-09")
    _shot(page, "programs")
    assert _width(page, "#prog-area") >= card - 4 and _width(page, "#prog-day") >= card - 4
    page.goto(f"{web_address}/search")
    _shot(page, "search")
    assert min(_width(page, f) for f in ("#area", "#from", "#to")) >= card - 40  # inside the filters' columns
    page.goto(f"{web_address}/admin/destinations")
    _shot(page, "admin-destinations")
    assert _width(page, "#url") >= card - 4

    page.goto(f"{web_address}/packages/{package_id}")
    board = page.locator("pre.board").last
    board.scroll_into_view_if_needed()
    _shot(page, "package")
    assert board.evaluate("e => getComputedStyle(e).whiteSpace") == "pre"
    assert board.inner_text() == BOARD  # the board's four lines, none re-wrapped
    assert board.evaluate("e => e.getClientRects().length") == 1 and no_horizontal_scroll(page)

    editor = chromium.new_context(viewport=PHONE, locale="vi-VN").new_page()
    sign_in(editor, web_address, "editor_daloc")
    editor.goto(f"{web_address}/packages/{package_id}/variants/vi/edit")
    _shot(editor, "variant-edit")
    assert editor.locator("#board_text").evaluate("e => getComputedStyle(e).whiteSpace") == "pre"

    page.goto(f"{web_address}/reports")
    _shot(page, "reports")
    assert no_horizontal_scroll(page)  # the table scrolls inside its card
    cells = page.locator("#reports tbody td")
    heights = {round(cells.nth(i).bounding_box()["height"]) for i in range(3)}  # period, area, cut-off
    assert max(heights) < 40, heights  # one line each: "2026-11", "07/12/2026" not split
    assert cells.nth(2).inner_text() == "07/12/2026"

    page.goto(f"{web_address}/feedback")
    _shot(page, "feedback-queue")
    button = page.locator("p.actions a.button").bounding_box()
    link = page.locator('p.actions a[href="/feedback?all=1"]').bounding_box()
    assert button and link
    apart = link["x"] - (button["x"] + button["width"]) if link["y"] < button["y"] + button["height"] else \
        link["y"] - (button["y"] + button["height"])
    assert apart >= 8, (button, link)
