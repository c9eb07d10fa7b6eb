"""Area-scoped authority is that area's subtree only, on every entry point (issue 17, item 1).

An admin or approver of one commune is no admin of its province or of another province: not through
``auth.can`` without areas, not on the deliveries page or its resend button, not for programme order, quiet
hours, volume or default content (checked in the services, so the CLI and the web answer alike), and an
editor of one commune cannot submit drafts or use templates for another.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.approvals import Role
from domain.areas import AreaLevel
from domain.deliveries import DeliveryStatus, DestinationKind
from domain.drafts import DraftContent
from domain.errors import Forbidden
from domain.priority import Priority
from domain.users import Membership
from services import approvals as approval_service
from services import auth, default_content, programs
from services import drafts as draft_service
from services.runtime import object_store, session
from settings import get_settings
from storage.repositories import destinations, drafts, outbox, packages, users
from tests.web.conftest import PASSWORD
from web.app import create_app

OTHER_PROVINCE = "08"  # Tuyên Quang; the accounts live around Đa Lộc (29377) in Trà Vinh (84)

SCOPED = {
    "admin_daloc": Membership(Role.ADMIN, "29377"),
    "admin_travinh": Membership(Role.ADMIN, "84"),
    "approver_daloc2": Membership(Role.APPROVER, "29377", level=AreaLevel.COMMUNE),
    "editor_daloc2": Membership(Role.EDITOR, "29377"),
}


@pytest.fixture(scope="module")
def accounts(shared_web_home: Path) -> Path:
    with session() as s:
        for name, m in SCOPED.items():
            users.add_user(s, username=name, full_name=name, memberships=[m], password=PASSWORD)
    return shared_web_home


@pytest.fixture
def client(accounts: Path) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings()), follow_redirects=False) as c:
        yield c


def sign_in(c: TestClient, username: str) -> str:
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
    assert csrf
    assert c.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf.group(1)}).status_code == 303
    again = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
    assert again
    return again.group(1)


def dead_delivery(area: str, name: str) -> int:
    """A published-looking package for ``area`` with one dead delivery; returns the delivery id."""
    with session() as s:
        rev = drafts.create_draft(s, author="admin", content=DraftContent(
            title="Thông báo", body="Thông báo lịch tiêm chủng cho trẻ em trong tháng này.", area_codes=(area,),
            languages=("vi",), priority=Priority.THUONG))
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        dest = destinations.add_destination(s, name=name, kind=DestinationKind.HTTTN, url="https://htttn.example/in")
        d = outbox.ensure(s, package_id=pkg.id, manifest_hash="ab" * 32, destination_id=dest.id)
        outbox.set_status(s, d, DeliveryStatus.SENDING)
        outbox.set_status(s, d, DeliveryStatus.DEAD, error="HTTP 503")
        return d.id


def test_scoped_admin_is_no_admin_anywhere_else(accounts: Path) -> None:
    with session() as s:
        daloc, travinh, root = (users.get_user(s, n) for n in ("admin_daloc", "admin_travinh", "admin"))
        assert auth.can(s, root, "admin")  # system-wide
        assert not auth.can(s, daloc, "admin")  # no areas = system-wide: a commune admin is not
        assert auth.can(s, daloc, "admin", area_codes=["29377"])
        assert not auth.can(s, daloc, "admin", area_codes=["84"])
        assert not auth.can(s, daloc, "admin", area_codes=["29377", OTHER_PROVINCE])
        assert auth.can(s, travinh, "admin", area_codes=["29377", "847"])
        assert not auth.can(s, travinh, "admin", area_codes=[OTHER_PROVINCE])
        assert auth.can_anywhere(s, daloc, "admin") and not auth.can_anywhere(s, daloc, "package.approve")


def test_deliveries_page_and_resend_are_scoped(client: TestClient) -> None:
    ours = dead_delivery("29377", "htttn-tra-vinh")
    theirs = dead_delivery(OTHER_PROVINCE, "htttn-tuyen-quang")
    client.app.state.flows = type("F", (), {"publish": lambda self, pid: None})()  # type: ignore[attr-defined]
    csrf = sign_in(client, "admin_travinh")
    page = client.get("/deliveries?dead=1")
    assert page.status_code == 200
    assert "htttn-tra-vinh" in page.text and "htttn-tuyen-quang" not in page.text
    assert client.post(f"/deliveries/{theirs}/resend", data={"csrf": csrf}).status_code == 403
    with session() as s:
        assert outbox.get(s, theirs).status == DeliveryStatus.DEAD  # nothing changed
    assert client.post(f"/deliveries/{ours}/resend", data={"csrf": csrf}).status_code == 303
    with session() as s:
        assert outbox.get(s, ours).status == DeliveryStatus.PENDING
    client.cookies.clear()
    sign_in(client, "approver_daloc2")
    assert client.get("/deliveries").status_code == 403  # no admin anywhere


def test_the_limit_counts_the_rows_a_province_admin_may_see(accounts: Path) -> None:
    from services import outbox as outbox_service

    ours = dead_delivery("29377", "htttn-tra-vinh")
    newer_theirs = [dead_delivery(OTHER_PROVINCE, f"htttn-tuyen-quang-{n}") for n in range(3)]
    with session() as s:
        # the three newest dead rows are another province's: a limit of 2 still finds this province's one
        seen = outbox_service.queue(s, username="admin_travinh", dead_only=True, limit=2)
        assert [r.id for r in seen] == [ours]
        assert outbox_service.dead_count(s, users.get_user(s, "admin_travinh")) == 1
        everything = outbox_service.queue(s, username="admin", dead_only=True, limit=2)
        assert [r.id for r in everything] == [newer_theirs[2], newer_theirs[1]]


@pytest.mark.parametrize(("actor", "area", "allowed"), [
    ("admin_daloc", "29377", True), ("admin_daloc", "84", False), ("admin_daloc", OTHER_PROVINCE, False),
    ("admin_travinh", "847", True), ("admin_travinh", OTHER_PROVINCE, False),
    ("approver_daloc2", "29377", True), ("approver_daloc2", "29380", False),
    ("editor_daloc2", "29377", False), ("admin", OTHER_PROVINCE, True),
])
def test_area_settings_are_checked_in_the_services(accounts: Path, actor: str, area: str, allowed: bool) -> None:
    calls = [
        lambda s: programs.set_area_profile(s, area_code=area, quiet_hours=[{"from": "22:00", "to": "05:00"}],
                                            actor=actor),
        lambda s: programs.set_area_profile(s, area_code=area, volume_profile=[{"from": "05:00", "to": "22:00",
                                                                                "percent": 70}], actor=actor),
        lambda s: default_content.set_default_content(s, area_code=area, package_ids=[], actor=actor),
    ]
    for call in calls:
        with session() as s:
            if allowed:
                call(s)
            else:
                with pytest.raises(Forbidden, match=f"'{actor}' may not do area.configure in area {area}"):
                    call(s)


def test_editor_of_one_commune_cannot_write_for_another(accounts: Path) -> None:
    req = draft_service.DraftRequest(title="Họp dân", body="Mời bà con dự họp dân lúc 19 giờ tại nhà văn hóa.",
                                     area_codes=["29380"], languages=["vi"], priority="thuong",
                                     author="editor_daloc2")
    with session() as s, pytest.raises(Forbidden, match="another area"):
        draft_service.submit_text_draft(s, object_store(), req)
    with session() as s:  # and through an approved emergency template of the province
        tpl = approval_service.create_template(s, name="lu-84", title="Cảnh báo lũ", body="Nước sông dâng cao, "
                                               "bà con di dời đến nơi an toàn ngay.", languages="vi",
                                               area_code="84", author="admin")
        tpl_id = tpl.id
    with session() as s:
        users.add_user(s, username="approver_84_tpl", full_name="x", password=None,
                       memberships=[Membership(Role.APPROVER, "84", level=AreaLevel.PROVINCE)])
        approval_service.approve_template(s, template_id=tpl_id, username="approver_84_tpl")
    with session() as s, pytest.raises(Forbidden, match="another area"):
        approval_service.draft_from_template(s, object_store(), template_id=tpl_id, area_codes=["29380"],
                                             author="editor_daloc2")
    with session() as s:
        rev = approval_service.draft_from_template(s, object_store(), template_id=tpl_id, area_codes=["29377"],
                                                   author="editor_daloc2")
        assert rev.content.area_codes == ("29377",)


def test_one_approval_queue_for_pages_and_api(client: TestClient) -> None:
    from tests.web.accounts import api_token
    from tests.web.test_authz import make_item

    _, theirs, _ = make_item()  # written by editor_daloc
    _, own, _ = make_item()
    with session() as s:  # written by approver_daloc2 themself: the four-eyes rule keeps it off their queue
        from storage.models import DraftRevisionRecord

        rec = s.get(DraftRevisionRecord, packages.get_package(s, own).revision_id)
        assert rec is not None
        rec.author = "approver_daloc2"
    api = client.get("/api/v1/queue", headers={"Authorization": f"Bearer {api_token('approver_daloc2')}"}).json()
    ids = {row["id"] for row in api}
    assert theirs in ids and own not in ids
    sign_in(client, "approver_daloc2")
    page = client.get("/queue").text
    assert f"/packages/{theirs}" in page and f"/packages/{own}\"" not in page
    other = client.get("/api/v1/queue", headers={"Authorization": f"Bearer {api_token('approver_daloc')}"}).json()
    assert {theirs, own} <= {row["id"] for row in other}


def test_an_area_admin_administers_their_province_in_the_browser(client: TestClient) -> None:
    """A province's admin uses the admin pages for their province only; keys, models and the audit log stay
    with the installation's admins, and devices elsewhere cannot be authorised from their session."""
    from tests.devices.factory import DeviceClient

    with session() as s:
        destinations.add_destination(s, name="htttn-84", kind=DestinationKind.HTTTN, url="https://a.example/in",
                                     area_code="84")
        destinations.add_destination(s, name="htttn-08", kind=DestinationKind.HTTTN, url="https://b.example/in",
                                     area_code=OTHER_PROVINCE)
    ours, theirs = DeviceClient.new(client), DeviceClient.new(client)
    assert ours.register("29377").status_code == 202 and theirs.register(OTHER_PROVINCE).status_code == 202
    csrf = sign_in(client, "admin_travinh")
    index = client.get("/admin")
    assert index.status_code == 200
    assert all(f'href="{p}"' in index.text for p in ("/admin/users", "/admin/destinations", "/devices"))
    assert not any(f'href="{p}"' in index.text for p in ("/admin/keys", "/admin/models", "/admin/audit"))
    for path in ("/admin/keys", "/admin/models", "/admin/audit"):
        assert client.get(path).status_code == 403, path
    dests = client.get("/admin/destinations")
    assert dests.status_code == 200 and "htttn-84" in dests.text and "htttn-08" not in dests.text

    new_user = {"csrf": csrf, "full_name": "Lâm Thị Hoa", "role": "editor", "extra": "",
                "password": "mat-khau-cua-hoa-2026"}
    elsewhere = client.post("/admin/users", data={**new_user, "username": "hoa_tq", "area": OTHER_PROVINCE})
    assert elsewhere.status_code == 422 and 'value="Lâm Thị Hoa"' in elsewhere.text  # refused, the form kept
    assert client.post("/admin/users", data={**new_user, "username": "hoa_tv", "area": "84"}).status_code == 303
    with session() as s:
        assert users.find_user(s, "hoa_tq") is None
        assert [(m.role, m.area_code) for m in users.memberships_of(users.get_user(s, "hoa_tv"))] == [
            (Role.EDITOR, "84")]

    listed = client.get("/devices").text
    assert f'id="device-{ours.device_id}"' in listed and f'id="device-{theirs.device_id}"' not in listed
    assert client.post(f"/devices/{theirs.device_id}/authorize", data={"csrf": csrf}).status_code == 403
    assert theirs.request("GET", "/device/v1/schedule").status_code == 403  # still pending
    page = client.get(f"/devices/{ours.device_id}").text
    assert "Xã Đa Lộc (29377)" in page and ours.hardware_id in page
    assert 'action="/devices/' + str(ours.device_id) + '/authorize"' in page
    assert "Chỉ cấp phép khi mã phần cứng trùng" in page  # the confirmation says what to compare
    assert client.post(f"/devices/{ours.device_id}/authorize", data={"csrf": csrf}).status_code == 303
    assert ours.request("GET", "/device/v1/schedule").status_code == 200


def test_an_area_admin_files_destinations_under_their_areas_only(client: TestClient) -> None:
    csrf = sign_in(client, "admin_travinh")
    form = client.get("/admin/destinations").text
    select = form[form.index('id="dest-area"'):]
    select = select[:select.index("</select>")]
    assert re.findall(r'<option value="([^"]*)"', select) == ["84"] and "Tỉnh Trà Vinh" in select
    new = {"csrf": csrf, "kind": "htttn", "url": "https://htttn.example/in"}
    everywhere = client.post("/admin/destinations", data={**new, "name": "htttn-all", "area": ""})
    assert everywhere.status_code == 422 and "htttn-all" in everywhere.text  # refused, the form kept
    assert "Bạn không quản trị địa bàn này." in everywhere.text
    other = client.post("/admin/destinations", data={**new, "name": "htttn-tq", "area": OTHER_PROVINCE})
    assert other.status_code == 422
    assert client.post("/admin/destinations", data={**new, "name": "htttn-tv", "area": "84"}).status_code == 303
    with session() as s:
        made = {d.name: d.area_code for d in destinations.list_destinations(s)}
    assert made.get("htttn-tv") == "84" and "htttn-all" not in made and "htttn-tq" not in made
