"""What the 360 px walk of a commune officer found: a failed publication said only at the bottom of the package
page, a locked destination that could not be unlocked, actions with no word of what happened, refusals that lost
what was typed, and approvers let into forms they may not send.

Flow starts are recorded instead of run.
"""

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from domain.deliveries import DestinationKind
from domain.packages import PackageStatus
from services import dashboard, progress
from services.runtime import session
from storage.repositories import audit, destinations, packages
from tests.web.accounts import DRAFT_AREA
from tests.web.test_authz import login, make_item
from tests.web.test_catalogues import visible_text

pytestmark = pytest.mark.integration

NO_RECEIVER = "no destination is configured and no authorised device reaches these areas"


def _approved(*, failed: bool) -> tuple[int, int]:
    """A package of Đa Lộc approved (by the records, not the service), its publication run stopped if
    ``failed``: (draft id, package id)."""
    draft_id, package_id, _ = make_item()
    with session() as s:
        packages.set_status(s, packages.get_package(s, package_id), PackageStatus.APPROVED, actor="approver_daloc")
        if failed:
            progress.record_publication_failure(s, package_id, NO_RECEIVER)
    return draft_id, package_id


def test_a_failed_publication_shows_at_the_top_and_in_the_draft_list(client: TestClient) -> None:
    draft_id, package_id = _approved(failed=True)
    _, fine_id = _approved(failed=False)
    login(client, "editor_daloc")
    page = client.get(f"/packages/{package_id}").text
    top = page[page.index("<h1>"):page.index('id="variant-')]
    assert re.search(r'<span class="badge approved">Đã duyệt</span>\s*'
                     r'<a class="badge failed" id="publication-failed" href="#progress">Phát hành bị lỗi</a>', top)
    assert 'id="publication-failed"' not in client.get(f"/packages/{fine_id}").text
    listing = client.get("/").text
    item = listing[listing.index(f'href="/drafts/{draft_id}"'):]
    item = item[:item.index("</li>")]
    assert f'href="/packages/{package_id}#progress">Phát hành bị lỗi</a>' in item and "Đã duyệt" in item
    with session() as s:  # a retry clears it: the run is under way again
        progress.retry_publication(s, package_id, actor="approver_daloc")
    assert 'id="publication-failed"' not in client.get(f"/packages/{package_id}").text


def test_the_dashboard_counts_a_publication_that_stopped(fresh: TestClient) -> None:
    def failed_sends() -> int:
        with session() as s:
            return dashboard.build(s, DRAFT_AREA, now=datetime.now(UTC)).queues["failed_deliveries"]

    assert failed_sends() == 0
    _approved(failed=False)
    assert failed_sends() == 0
    _approved(failed=True)
    assert failed_sends() == 1
    login(fresh, "admin")
    text = " ".join(visible_text(fresh.get(f"/dashboard/area/{DRAFT_AREA}").text).split())
    assert "Gửi đi thất bại: 1" in text


def test_an_admin_enables_a_locked_destination_after_confirming(client: TestClient) -> None:
    with session() as s:
        destinations.add_destination(s, name="htttn-khoa", kind=DestinationKind.HTTTN, url="https://htttn.example/in")
        destinations.disable_destination(s, "htttn-khoa")
    csrf = login(client, "editor_daloc")
    assert client.post("/admin/destinations/htttn-khoa/enable", data={"csrf": csrf}).status_code == 403
    client.cookies.clear()
    csrf = login(client, "admin")
    page = client.get("/admin/destinations").text
    row = page[page.index('id="destination-htttn-khoa"'):]
    row = row[:row.index("</li>")]
    assert '<details class="confirm" id="enable-htttn-khoa">' in row
    assert "Gửi tin tới nơi nhận này trở lại?" in row and 'action="/admin/destinations/htttn-khoa/enable"' in row
    resp = client.post("/admin/destinations/htttn-khoa/enable", data={"csrf": csrf})
    assert resp.status_code == 303 and resp.headers["location"] == "/admin/destinations"
    after = client.get("/admin/destinations").text
    assert "Đã mở khóa: gửi tin tới htttn-khoa trở lại." in after
    with session() as s:
        assert destinations.get_by_name(s, "htttn-khoa").enabled is True  # type: ignore[union-attr]
        assert [(e.actor, e.action) for e in audit.entries(s, entity="destination", entity_id="htttn-khoa")] \
            == [("admin", "destination.enabled")]
