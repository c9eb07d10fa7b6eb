"""Administration in the browser: accounts and area roles, destinations, emergency templates, signing keys
and the audit log, each through the services and refused to non-administrators."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services import audit_anchor
from services.runtime import db_engine, object_store, session
from storage.repositories import audit, destinations, templates, users
from tests.storage.test_audit_anchor import _hash_of, _rewind_head, _tamper
from tests.web.test_authz import csrf_of, login
from web.reference_receiver import ReferenceReceiver

pytestmark = pytest.mark.integration

NEW_PASSWORD = "mat-khau-moi-cua-lan-2026"



def fresh_client(client: TestClient) -> TestClient:
    return TestClient(client.app, follow_redirects=False)


@pytest.mark.parametrize("user", ["editor_daloc", "approver_travinh", "translator_km"])
def test_admin_pages_are_refused_to_others(client: TestClient, user: str) -> None:
    csrf = login(client, user)
    for path in ("/admin", "/admin/users", "/admin/destinations", "/admin/keys", "/admin/audit"):
        assert client.get(path).status_code == 403, path
    resp = client.post("/admin/users", data={"csrf": csrf, "username": "mallory", "full_name": "M",
                                             "role": "admin", "area": "", "extra": "", "password": NEW_PASSWORD})
    assert resp.status_code == 403
    with session() as s:
        assert users.find_user(s, "mallory") is None


def test_admin_creates_a_user_grants_revokes_and_disables(client: TestClient) -> None:
    csrf = login(client, "admin")
    resp = client.post("/admin/users", data={"csrf": csrf, "username": "lan", "full_name": "Nguyễn Thị Lan",
                                             "role": "approver", "area": "29377", "extra": "",
                                             "password": NEW_PASSWORD})
    assert resp.status_code == 303 and resp.headers["location"] == "/admin/users"
    with session() as s:
        assert [m.spec for m in users.memberships_of(users.get_user(s, "lan"))] == ["approver:29377:commune"]
    lan = fresh_client(client)
    assert lan.post("/login", data={"username": "lan", "password": NEW_PASSWORD,
                                    "csrf": csrf_of(lan)}).status_code == 303

    assert client.post("/admin/users/lan/grant", data={"csrf": csrf, "role": "translator", "area": "84",
                                                       "extra": "km"}).status_code == 303
    page = client.get("/admin/users").text
    assert "Người dịch · Tỉnh Trà Vinh · Tiếng Khmer" in page and "Người duyệt · Xã Đa Lộc · cấp xã" in page
    assert client.post("/admin/users/lan/revoke", data={"csrf": csrf, "spec": "translator:84:km"}).status_code == 303
    with session() as s:
        assert [m.spec for m in users.memberships_of(users.get_user(s, "lan"))] == ["approver:29377:commune"]

    assert client.post("/admin/users/lan/active", data={"csrf": csrf, "active": "0"}).status_code == 303
    assert lan.get("/").status_code == 303  # a disabled account's session ends
    again = fresh_client(client)
    assert again.post("/login", data={"username": "lan", "password": NEW_PASSWORD,
                                      "csrf": csrf_of(again)}).status_code == 401
    audit_page = client.get("/admin/audit?actor=admin&action=user.").text
    for action, label in (("user.created", "Tạo tài khoản"), ("user.granted", "Giao quyền cho tài khoản"),
                          ("user.revoked", "Thu hồi quyền của tài khoản"), ("user.disabled", "Khóa tài khoản")):
        # the officer's words, and the code itself in small type beside them (it is the record)
        assert f"<strong>{label}</strong> · admin " in audit_page, action
        assert f'<code translate="no">{action} · user lan</code>' in audit_page, action


def test_a_refused_new_user_keeps_the_form_but_not_the_password(client: TestClient) -> None:
    csrf = login(client, "admin")
    resp = client.post("/admin/users", data={"csrf": csrf, "username": "hoa", "full_name": "Trần Văn Hòa",
                                             "role": "editor", "area": "29377", "extra": "", "password": "ngan"})
    assert resp.status_code == 422
    assert "Mật khẩu cần ít nhất" in resp.text and 'value="Trần Văn Hòa"' in resp.text
    assert 'value="ngan"' not in resp.text
    taken = client.post("/admin/users", data={"csrf": csrf, "username": "editor_daloc", "full_name": "X",
                                              "role": "editor", "area": "", "extra": "", "password": NEW_PASSWORD})
    assert taken.status_code == 422 and "Tên đăng nhập editor_daloc đã có người dùng." in taken.text


def test_admin_adds_tests_and_disables_a_destination(client: TestClient, tmp_path: Path) -> None:
    csrf = login(client, "admin")
    with ReferenceReceiver(tmp_path / "rx") as receiver:
        resp = client.post("/admin/destinations", data={"csrf": csrf, "name": "htttn-tra-vinh", "kind": "htttn",
                                                        "url": receiver.url})
        assert resp.status_code == 303
        ok = client.post("/admin/destinations/htttn-tra-vinh/test", data={"csrf": csrf}).text
        assert re.search(r'id="check-result">htttn-tra-vinh: kết nối được \(máy chủ trả lời mã \d{3}\)', ok)
    closed = client.post("/admin/destinations/htttn-tra-vinh/test", data={"csrf": csrf}).text
    assert "htttn-tra-vinh: không kết nối được" in closed
    bad = client.post("/admin/destinations", data={"csrf": csrf, "name": "x", "kind": "htttn", "url": "ftp://x"})
    assert bad.status_code == 422 and "phải bắt đầu bằng http:// hoặc https://" in bad.text
    assert 'value="ftp://x"' in bad.text
    assert client.post("/admin/destinations/htttn-tra-vinh/disable", data={"csrf": csrf}).status_code == 303
    with session() as s:
        (dest,) = [d for d in destinations.list_destinations(s) if d.name == "htttn-tra-vinh"]
        assert dest.enabled is False


def test_templates_written_by_an_admin_are_approved_by_a_province_approver(client: TestClient) -> None:
    csrf = login(client, "admin")
    resp = client.post("/admin/templates", data={
        "csrf": csrf, "name": "lu-quet", "title": "Cảnh báo lũ quét",
        "body": "Mưa lớn kéo dài, nguy cơ lũ quét tại các ấp ven sông. Bà con khẩn trương di chuyển lên nơi cao.",
        "area": "84", "languages": "vi"})
    assert resp.status_code == 303
    page = client.get("/admin/templates").text
    tpl_id = re.search(r'id="template-(\d+)"><strong>lu-quet</strong>', page).group(1)  # type: ignore[union-attr]
    assert f'action="/admin/templates/{tpl_id}/approve"' not in page  # the author may not approve
    commune = fresh_client(client)
    token = login(commune, "approver_daloc")
    assert f"/admin/templates/{tpl_id}/approve" not in commune.get("/admin/templates").text
    assert commune.post(f"/admin/templates/{tpl_id}/approve", data={"csrf": token}).status_code == 403
    province = fresh_client(client)
    token = login(province, "approver_travinh")
    assert f'action="/admin/templates/{tpl_id}/approve"' in province.get("/admin/templates").text
    assert province.post(f"/admin/templates/{tpl_id}/approve", data={"csrf": token}).status_code == 303
    assert "approver_travinh" in province.get("/admin/templates").text

    # Retiring it for good: not the commune approver; the province approver, with a reason, after confirming.
    assert f"/admin/templates/{tpl_id}/retire" not in commune.get("/admin/templates").text
    assert commune.post(f"/admin/templates/{tpl_id}/retire",
                        data={"csrf": csrf_of(commune), "reason": "cũ"}).status_code == 403
    page = province.get("/admin/templates").text
    assert f'action="/admin/templates/{tpl_id}/retire"' in page and "Ngừng dùng mẫu" in page
    assert province.post(f"/admin/templates/{tpl_id}/retire", data={"csrf": token, "reason": " "}).status_code == 422
    done = province.post(f"/admin/templates/{tpl_id}/retire", data={"csrf": token, "reason": "thay bằng mẫu mới"},
                         follow_redirects=True)
    assert done.status_code == 200 and "Đã ngừng dùng mẫu tin." in done.text
    assert f'action="/admin/templates/{tpl_id}/retire"' not in done.text  # retired: no second retirement
    with session() as s:
        assert templates.get_template(s, int(tpl_id)).retired_at is not None
        retired = [e for e in audit.entries(s, entity="template", entity_id=tpl_id) if e.action == "template.retired"]
        assert [(e.actor, e.detail["reason"]) for e in retired] == [("approver_travinh", "thay bằng mẫu mới")]


def test_keys_show_fingerprints_and_the_audit_chain_verifies(client: TestClient) -> None:
    login(client, "admin")
    keys = client.get("/admin/keys").text
    assert re.search(r'<code class="fingerprint">([0-9A-F]{2}:){31}[0-9A-F]{2}</code>', keys)
    checked = client.get("/admin/audit?verify=1").text
    assert re.search(r'id="verify-result">Nhật ký nguyên vẹn: \d+ mục', checked)
    bad_day = client.get("/admin/audit?from=hom-qua")
    assert bad_day.status_code == 422


def test_the_audit_page_reports_a_log_cut_off_after_a_checkpoint(fresh: TestClient) -> None:
    """The page checks as ``bantin audit verify`` does: an intruder who deletes the last entries and rewinds
    the head keeps a consistent chain, but no longer reaches the signed checkpoint."""
    login(fresh, "admin")
    with session() as s:
        document, report = audit_anchor.write_checkpoint(s, object_store())
        head, _ = audit.head(s)
    assert document is not None and report.problems == [] and head >= 3
    assert 'id="verify-result">Nhật ký nguyên vẹn' in fresh.get("/admin/audit?verify=1").text
    engine = db_engine()
    _tamper(engine, (f"DELETE FROM audit_log WHERE seq > {head - 2}", {}),
            _rewind_head(head - 2, _hash_of(engine, head - 2)))
    with session() as s:
        assert audit.verify(s)[1] == []  # the chain alone still looks intact
    page = fresh.get("/admin/audit?verify=1")
    assert page.status_code == 200
    assert 'class="flash error" role="status" id="verify-result">Nhật ký có chỗ bị sửa hoặc xóa: 1' in page.text
    assert f"the log ends at #{head - 2}, but the checkpoint" in page.text and "(the end was cut off)" in page.text


def test_rotating_the_signing_key_needs_confirmation_and_is_audited(client: TestClient) -> None:
    csrf = login(client, "admin")
    before = re.findall(r"<li><strong>([^<]+)</strong>", client.get("/admin/keys").text)
    assert len(before) >= 1
    unconfirmed = client.post("/admin/keys/rotate", data={"csrf": csrf})
    assert unconfirmed.status_code == 303
    assert re.findall(r"<li><strong>([^<]+)</strong>", client.get("/admin/keys").text) == before
    assert client.post("/admin/keys/rotate", data={"csrf": csrf, "confirm": "1"}).status_code == 303
    after = client.get("/admin/keys").text
    ids = re.findall(r"<li><strong>([^<]+)</strong>", after)
    assert ids[:len(before)] == before and len(ids) == len(before) + 1
    assert "Còn hiệu lực đến" in after  # the old key stays listed for its grace period
    rotated = client.get("/admin/audit?action=signing_key.").text
    assert "<strong>Đổi khóa ký</strong>" in rotated and '<code translate="no">signing_key.rotated · ' in rotated
    editor = fresh_client(client)
    token = login(editor, "editor_daloc")
    assert editor.post("/admin/keys/rotate", data={"csrf": token, "confirm": "1"}).status_code == 403


def test_models_are_listed_and_verified_in_vietnamese(client: TestClient) -> None:
    csrf = login(client, "admin")
    listed = client.get("/admin/models").text
    assert 'id="models"' in listed and "Chép lời" in listed  # the bundled whisper-base at least
    checked = client.post("/admin/models/verify", data={"csrf": csrf}).text
    statuses = re.findall(r'<span class="badge (?:ready|dead)">([^<]+)</span>', checked)
    assert statuses and all(not s.startswith("mstatus_") for s in statuses)


def test_an_approver_level_may_be_typed_in_vietnamese(client: TestClient) -> None:
    csrf = login(client, "admin")
    # a district level does not fit a commune's code
    assert client.post("/admin/users", data={"csrf": csrf, "username": "binh", "full_name": "Lê Văn Bình",
                                             "role": "approver", "area": "29377", "extra": "huyện",
                                             "password": NEW_PASSWORD}).status_code == 422
    assert client.post("/admin/users", data={"csrf": csrf, "username": "binh", "full_name": "Lê Văn Bình",
                                             "role": "approver", "area": "847", "extra": "huyện",
                                             "password": NEW_PASSWORD}).status_code == 303
    with session() as s:
        assert [m.spec for m in users.memberships_of(users.get_user(s, "binh"))] == ["approver:847:district"]


def test_a_destination_is_filed_under_an_area_chosen_from_a_list(client: TestClient) -> None:
    csrf = login(client, "admin")
    form = client.get("/admin/destinations").text
    options = re.findall(r'<option value="([^"]*)"', form[form.index('id="dest-area"'):form.index("</select>",
                                                                                               form.index('id="dest-area"'))])
    assert options[0] == "" and sorted(options[1:]) == ["08", "19", "48", "64", "84"]  # every area, the provinces
    assert client.post("/admin/destinations", data={"csrf": csrf, "name": "htttn-84", "kind": "htttn",
                                                    "url": "https://htttn.example/in", "area": "84"}).status_code == 303
    unknown = client.post("/admin/destinations", data={"csrf": csrf, "name": "htttn-x", "kind": "htttn",
                                                       "url": "https://htttn.example/x", "area": "99999"})
    assert unknown.status_code == 422 and 'value="https://htttn.example/x"' in unknown.text
    with session() as s:
        assert {d.name: d.area_code for d in destinations.list_destinations(s)
                if d.name.startswith("htttn-") and d.name != "htttn-tra-vinh"} == {"htttn-84": "84"}
    listed = client.get("/admin/destinations").text
    assert "Tỉnh Trà Vinh" in listed[listed.index('id="destination-htttn-84"'):]
