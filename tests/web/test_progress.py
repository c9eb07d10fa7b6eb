"""The package page's live progress card: production steps per language, publication per channel with the
reason of a failure in Vietnamese, and the retry of a failed delivery by those who may (through the service,
audited, then a publish run)."""

import pytest
from fastapi.testclient import TestClient

from domain.deliveries import DeliveryStatus, DestinationKind, PushStatus
from domain.drafts import DraftContent
from domain.packages import AssetKind, PackageStatus
from domain.priority import Priority
from services import progress
from services.runtime import object_store, session
from storage.repositories import audit, channels, destinations, drafts, outbox, packages
from tests.web.accounts import DRAFT_AREA
from tests.web.test_authz import login

pytestmark = pytest.mark.integration


def _package(*, to: PackageStatus, languages: tuple[str, ...] = ("vi",),
             priority: Priority = Priority.THUONG) -> int:
    with session() as s:
        rev = drafts.create_draft(s, author="editor_daloc", content=DraftContent(
            title="Lịch tiêm chủng", body="Trạm y tế xã tổ chức tiêm chủng cho trẻ em vào sáng thứ Bảy tuần này.",
            area_codes=(DRAFT_AREA,), languages=languages, priority=priority))
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        path = {PackageStatus.PRODUCING: [], PackageStatus.FAILED: [PackageStatus.FAILED],
                PackageStatus.APPROVED: [PackageStatus.IN_REVIEW, PackageStatus.APPROVED],
                PackageStatus.PUBLISHED: [PackageStatus.IN_REVIEW, PackageStatus.APPROVED, PackageStatus.PUBLISHED]}
        for status in path[to]:
            packages.set_status(s, pkg, status, actor="system",
                                **({"error": "RuntimeError: ffmpeg exited 1 on /tmp/x.wav"}
                                   if status == PackageStatus.FAILED else {}))
        return pkg.id


def _dead_delivery(package_id: int, name: str) -> int:
    with session() as s:
        dest = destinations.add_destination(s, name=name, kind=DestinationKind.HTTTN, url="https://htttn.example/in")
        d = outbox.ensure(s, package_id=package_id, manifest_hash="cd" * 32, destination_id=dest.id)
        outbox.set_status(s, d, DeliveryStatus.SENDING)
        outbox.set_status(s, d, DeliveryStatus.DEAD, error="HTTP 503: Service Unavailable")
        return d.id


def test_production_steps_show_per_language_and_the_card_stays_live(client: TestClient) -> None:
    package_id = _package(to=PackageStatus.PRODUCING, languages=("vi", "km"))
    with session() as s:
        stored = object_store().put_bytes(b"script", ext="txt", media_type="text/plain")
        packages.record_asset(s, package_id=package_id, language="vi", kind=AssetKind.SCRIPT, stored=stored, meta={})
    login(client, "editor_daloc")
    card = client.get(f"/packages/{package_id}/progress")
    assert card.status_code == 200 and card.headers["cache-control"] == "no-store"
    html = card.text
    assert 'data-live="1"' in html and 'data-status="producing"' in html
    vi = html[html.index('id="production-vi"'):html.index('id="production-km"')]
    assert "Văn bản: xong" in vi and "Giọng đọc: đang chờ" in vi and "Chuẩn âm lượng: đang chờ" in vi
    assert "Tiếng Khmer" in html and "Văn bản: đang chờ" in html[html.index('id="production-km"'):]
    assert 'id="progress"' in client.get(f"/packages/{package_id}").text  # the page carries the same card


def test_a_failed_production_says_why_in_vietnamese_and_offers_to_produce_again(client: TestClient) -> None:
    package_id = _package(to=PackageStatus.FAILED)
    login(client, "editor_daloc")
    html = client.get(f"/packages/{package_id}/progress").text
    assert 'data-live="0"' in html and "Sản xuất bị lỗi" in html and "Văn bản: lỗi" in html
    assert "/tmp" not in html and "ffmpeg" not in html
    assert 'id="reproduce"' in html
    client.cookies.clear()
    login(client, "approver_daloc")  # approvers do not produce drafts
    assert 'id="reproduce"' not in client.get(f"/packages/{package_id}/progress").text


def test_an_approver_sees_a_failed_delivery_and_retries_it(client: TestClient) -> None:
    package_id = _package(to=PackageStatus.PUBLISHED)
    dead = _dead_delivery(package_id, "htttn-tra-vinh-progress")
    csrf = login(client, "editor_daloc")
    html = client.get(f"/packages/{package_id}").text
    assert "htttn-tra-vinh-progress" in html and "Gửi thất bại" in html and "Nơi nhận trả lời lỗi 503." in html
    assert 'id="retry"' not in html  # editors do not retry publications
    assert client.post(f"/packages/{package_id}/retry", data={"csrf": csrf}).status_code == 403
    with session() as s:
        assert outbox.get(s, dead).status == DeliveryStatus.DEAD

    client.cookies.clear()
    csrf = login(client, "approver_daloc")
    assert 'id="retry"' in client.get(f"/packages/{package_id}").text
    resp = client.post(f"/packages/{package_id}/retry", data={"csrf": csrf})
    assert resp.status_code == 303 and resp.headers["location"] == f"/packages/{package_id}#progress"
    assert ("publish", package_id) in client.app.state.flows.started  # type: ignore[attr-defined]
    with session() as s:
        d = outbox.get(s, dead)
        assert (d.status, d.attempts) == (DeliveryStatus.PENDING, 0)
        actions = [(e.actor, e.action) for e in audit.entries(s, entity="package", entity_id=package_id)]
        assert ("approver_daloc", "publish.retry") in actions
    page = client.get(f"/packages/{package_id}").text
    assert "Đang gửi lại gói tin" in page
    card = client.get(f"/packages/{package_id}/progress").text
    assert 'data-live="1"' in card and "Chờ gửi" in card and 'id="retry"' not in card  # nothing dead any more


def test_a_publication_that_found_no_receiver_says_what_to_do(client: TestClient) -> None:
    package_id = _package(to=PackageStatus.APPROVED)
    with session() as s:
        progress.record_publication_failure(
            s, package_id, "no destination is configured and no authorised device reaches these areas; add one "
                           "with 'bantin destinations add NAME URL' or authorise a device")
    login(client, "approver_travinh")
    html = client.get(f"/packages/{package_id}/progress").text
    assert "Phát hành bị lỗi" in html and "Chưa có nơi nhận tin nào" in html and 'id="retry"' in html
    assert "bantin" not in html and 'data-live="0"' in html
    with session() as s:  # a retry clears the failure: the card shows the run under way again
        progress.retry_publication(s, package_id, actor="approver_travinh")
        after = progress.package_progress(s, package_id)
        assert (after["phase"], after["failure"], after["live"]) == ("publishing", None, True)


def test_a_failed_emergency_push_may_be_retried(client: TestClient) -> None:
    package_id = _package(to=PackageStatus.PUBLISHED, priority=Priority.KHAN_CAP)
    with session() as s:
        push = channels.ensure_push(s, package_id=package_id, channel="mqtt", action="play")
        channels.set_push_status(s, push, PushStatus.SENDING)
        channels.set_push_status(s, push, PushStatus.FAILED, error="ConnectionRefusedError: [Errno 111] refused")
    login(client, "approver_daloc")
    html = client.get(f"/packages/{package_id}/progress").text
    assert "Loa (phát ngay qua MQTT)" in html and "Không kết nối được tới nơi nhận" in html
    assert 'id="retry"' in html and "Errno" not in html


def test_retry_is_refused_outside_ones_areas_and_before_approval(client: TestClient) -> None:
    from domain.errors import Forbidden, InvalidTransition

    published = _package(to=PackageStatus.PUBLISHED)
    _dead_delivery(published, "htttn-progress-scope")
    in_production = _package(to=PackageStatus.PRODUCING)
    with session() as s, pytest.raises(Forbidden, match="package.retry"):
        progress.retry_publication(s, published, actor="approver_mychanh")
    with session() as s, pytest.raises(InvalidTransition):
        progress.retry_publication(s, in_production, actor="approver_daloc")
    with session() as s:
        assert progress.retry_publication(s, published, actor="admin") == 1


def test_the_api_gives_the_same_progress_and_retries(client: TestClient) -> None:
    from tests.web.accounts import api_token

    package_id = _package(to=PackageStatus.PUBLISHED)
    dead = _dead_delivery(package_id, "htttn-progress-api")
    headers = {"Authorization": "Bearer " + api_token("approver_chauthanh")}
    card = client.get(f"/api/v1/packages/{package_id}/progress", headers=headers).json()
    assert (card["phase"], card["may_retry"], card["live"]) == ("published", True, False)
    assert [(c["name"], c["status"], c["detail"]) for c in card["channels"]] == \
        [("htttn-progress-api", "dead", "HTTP 503: Service Unavailable")]
    resp = client.post(f"/api/v1/packages/{package_id}/retry", headers=headers)
    assert resp.status_code == 202 and resp.json() == {"id": package_id, "reopened": 1}
    assert ("publish", package_id) in client.app.state.flows.started  # type: ignore[attr-defined]
    with session() as s:
        assert outbox.get(s, dead).status == DeliveryStatus.PENDING


def test_a_scheduled_package_waits_without_polling(client: TestClient) -> None:
    package_id = _package(to=PackageStatus.APPROVED)
    with session() as s:
        packages.set_status(s, packages.get_package(s, package_id), PackageStatus.SCHEDULED, actor="system")
    login(client, "editor_daloc")
    html = client.get(f"/packages/{package_id}/progress").text
    assert "Đã lên lịch: gói tin được phát hành khi đến giờ phát hành." in html and 'data-live="0"' in html
