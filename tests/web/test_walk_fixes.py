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


def _flashes(client: TestClient, url: str) -> str:
    return " ".join(visible_text(client.get(url).text).split())


def test_each_decision_says_what_happened(client: TestClient) -> None:
    csrf = login(client, "approver_daloc")
    _, package_id, _ = make_item()
    with session() as s:  # only the ready variant counts: make it a one-language bulletin ready for approval
        pkg = packages.get_package(s, package_id)
        packages.set_variant(s, package_id=package_id, language="km", status=packages.VariantStatus.READY)
        reviewed = pkg.manifest_hash
    resp = client.post(f"/packages/{package_id}/approve", data={"csrf": csrf, "manifest_hash": reviewed})
    assert resp.status_code == 303
    assert "Đã duyệt; đang phát hành…" in _flashes(client, f"/packages/{package_id}")
    resp = client.post(f"/packages/{package_id}/withdraw", data={"csrf": csrf, "reason": "Sai giờ"})
    assert resp.status_code == 303 and "Đã rút tin." in _flashes(client, f"/packages/{package_id}")

    _, other, _ = make_item()
    resp = client.post(f"/packages/{other}/reject", data={"csrf": csrf, "reason": "Sai giờ cắt điện"})
    assert resp.status_code == 303
    assert "Đã từ chối; người soạn sẽ thấy lý do." in _flashes(client, f"/packages/{other}")
    client.get("/?lang=en")
    client.cookies.set("lang", "en")
    _, third, _ = make_item()
    client.post(f"/packages/{third}/reject", data={"csrf": csrf, "reason": "Wrong time"})
    assert "Rejected; the editor will see your reason." in _flashes(client, f"/packages/{third}")


def test_a_submitted_draft_says_how_to_send_it_for_approval(client: TestClient) -> None:
    csrf = login(client, "editor_daloc")
    body = "Mời bà con ấp Phước Hảo dự họp dân lúc 19 giờ tối thứ Sáu tại nhà văn hóa ấp."
    resp = client.post("/drafts", data={"csrf": csrf, "title": "Họp dân ấp Phước Hảo", "body": body,
                                        "area": DRAFT_AREA, "languages": "vi", "priority": "thuong"},
                       files={"recording": ("", b"", "application/octet-stream")})
    assert resp.status_code == 303
    assert "Đã lưu bản thảo. Bấm 'Sản xuất gói tin' để gửi duyệt." in _flashes(client, resp.headers["location"])


@pytest.mark.parametrize(("decision", "field"), [("reject", "reason"), ("withdraw", "withdraw-reason")])
def test_a_blank_reason_comes_back_on_the_package_page_with_the_form_open(client: TestClient, decision: str,
                                                                         field: str) -> None:
    csrf = login(client, "approver_daloc")
    if decision == "withdraw":
        _, package_id = _approved(failed=False)
        expected = "Hãy ghi lý do rút tin."
    else:
        _, package_id, _ = make_item()
        expected = "Hãy ghi lý do từ chối để người soạn biết cần sửa gì."
    resp = client.post(f"/packages/{package_id}/{decision}", data={"csrf": csrf, "reason": "   "})
    assert resp.status_code == 422 and "Lỗi 422" not in resp.text
    assert expected in resp.text and 'id="decision"' in resp.text
    assert '<details class="confirm" open><summary' in resp.text
    assert re.search(rf'<input id="{field}" name="reason" type="text" required value="   ">', resp.text)
    with session() as s:
        status = packages.get_package(s, package_id).status
    assert status == (PackageStatus.APPROVED if decision == "withdraw" else PackageStatus.IN_REVIEW)


def test_the_programs_page_says_what_is_wrong_with_a_date_or_an_area_and_keeps_them(client: TestClient) -> None:
    login(client, "editor_daloc")
    bad_day = client.get(f"/programs?area={DRAFT_AREA}&day=31/12/2026")
    assert bad_day.status_code == 422 and "Lỗi 422" not in bad_day.text
    assert "'31/12/2026' không phải là ngày hợp lệ" in " ".join(visible_text(bad_day.text).split())
    assert 'name="day" value="31/12/2026"' in bad_day.text and f'name="area" value="{DRAFT_AREA}"' in bad_day.text
    vague = client.get("/programs?area=Châu Thành")
    assert vague.status_code == 422 and "Lỗi 422" not in vague.text
    assert 'name="area" value="Châu Thành"' in vague.text
    text = " ".join(visible_text(vague.text).split())
    assert "Châu Thành" in text and "Thông tin nhập chưa hợp lệ" not in text


def test_an_approver_is_warned_before_editing_a_variant_that_they_cannot_then_approve(client: TestClient) -> None:
    _, package_id, _ = make_item()
    login(client, "approver_daloc")
    form = client.get(f"/packages/{package_id}/variants/vi/edit")
    assert form.status_code == 200
    warning = re.search(r'<div class="flash error" role="alert" id="self-approval-warning">([^<]*)</div>', form.text)
    assert warning and warning.group(1) == "Sau khi sửa, bạn không thể tự duyệt; cần một người duyệt khác."
    assert form.text.index('id="self-approval-warning"') < form.text.index('id="edit-form"')  # before saving
    client.cookies.clear()
    login(client, "editor_daloc")  # an editor never approves: nothing to lose
    page = client.get(f"/packages/{package_id}/variants/vi/edit")
    assert page.status_code == 200 and 'id="self-approval-warning"' not in page.text


def test_the_new_draft_form_is_refused_to_an_approver_before_anything_is_typed(client: TestClient) -> None:
    login(client, "approver_daloc")
    resp = client.get("/drafts/new")
    assert resp.status_code == 403 and resp.headers["content-type"].startswith("text/html")
    assert 'name="body"' not in resp.text and "<textarea" not in resp.text
    assert "Lỗi 403" in resp.text and "draft.create" not in resp.text
    client.cookies.clear()
    login(client, "editor_daloc")
    form = client.get("/drafts/new")
    assert form.status_code == 200 and '<textarea' in form.text


def test_the_package_header_is_short_and_the_workflow_runs_are_for_administrators(client: TestClient) -> None:
    draft_id, package_id, _ = make_item()
    with session() as s:
        pkg = packages.get_package(s, package_id)
        pkg.manifest_hash = "d32460" + "ab" * 29
        audit.record(s, actor="system", action="flow.produce", entity="package", entity_id=package_id,
                     flow_run_id="0b7c5d1e-1111-2222-3333-444455556666")
    login(client, "approver_daloc")
    page = client.get(f"/packages/{package_id}").text
    text = " ".join(visible_text(page).split())
    assert f"Gói tin #{package_id} · Bản thảo #{draft_id} · Lần sửa 1" in text
    assert f'<a href="/drafts/{draft_id}">Bản thảo #{draft_id}</a>' in page
    full = "d32460" + "ab" * 29
    assert f'<summary>Mã kiểm: <code title="{full}">d32460ababab…</code></summary>' in page
    assert "Mã kiểm đầy đủ: <code" in page and full in page
    assert "Prefect" not in page and "0b7c5d1e-1111-2222-3333-444455556666" not in page
    client.cookies.clear()
    login(client, "admin")
    admin_page = client.get(f"/packages/{package_id}").text
    assert "Lượt chạy quy trình" in admin_page and "0b7c5d1e-1111-2222-3333-444455556666" in admin_page
