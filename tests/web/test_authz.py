"""Authorization matrix: every route of the web app and the API, for every role (allow/deny per cell).

The item under test is a normal-priority bulletin for Đa Lộc commune, in review. Flow starts are
recorded instead of run (the browser walk runs them for real).
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.drafts import DraftContent
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority
from services.runtime import object_store, session
from settings import get_settings
from storage.repositories import drafts, packages
from tests.web.accounts import ACCOUNTS, DRAFT_AREA, api_token
from tests.web.conftest import PASSWORD
from web.app import create_app

ANON = "anonymous"
USERS = [ANON, *ACCOUNTS]
VIEWERS = {"editor_daloc", "approver_daloc", "approver_chauthanh", "approver_travinh", "translator_km", "admin"}
CREATORS = {"editor_daloc", "admin"}
APPROVERS = {"approver_daloc", "approver_chauthanh", "approver_travinh"}
KHMER_EDITORS = {"editor_daloc", "translator_km"}  # variant.edit for km: the area's editor and km translators
VIETNAMESE_EDITORS = {"editor_daloc"}
EVERYONE = set(ACCOUNTS)
AREA_CONFIGURERS = APPROVERS | {"admin"}  # area.configure: programmes, quiet hours, volume, default content


class RecordingFlows:
    def __init__(self) -> None:
        self.started: list[tuple[str, int]] = []

    def produce(self, draft_id: int, user: str = "") -> None:
        self.started.append(("produce", draft_id))

    def publish(self, package_id: int) -> None:
        self.started.append(("publish", package_id))

    def revise(self, package_id: int, language: str, user: str = "") -> None:
        self.started.append(("revise", package_id, language))  # type: ignore[arg-type]

    def retract(self, package_id: int) -> None:
        self.started.append(("retract", package_id))

    def shutdown(self) -> None:
        pass


def _wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    import io
    import math
    import struct
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * n / rate)))
                               for n in range(int(seconds * rate))))
    return buf.getvalue()


WAV = _wav()


def make_item(area: str = DRAFT_AREA, *, author: str = "editor_daloc") -> tuple[int, int, str]:
    """A draft for Đa Lộc (or ``area``) by ``author`` with a package in review and one stored asset: (draft id,
    package id, asset key)."""
    with session() as s:
        rev = drafts.create_draft(s, author=author, content=DraftContent(
            title="Thông báo cắt điện", body="Điện lực thông báo cắt điện từ 7 giờ đến 11 giờ ngày 5/12.",
            area_codes=(area,), languages=("vi", "km"), priority=Priority.THUONG))
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        obj = object_store().put_bytes(f"script {pkg.id}".encode(), ext="txt", media_type="text/plain")
        board = object_store().put_bytes(f"board {pkg.id}".encode(), ext="txt", media_type="text/plain")
        packages.record_asset(s, package_id=pkg.id, language="vi", kind=AssetKind.SCRIPT, stored=obj, meta={})
        packages.record_asset(s, package_id=pkg.id, language="vi", kind=AssetKind.BOARD_TEXT, stored=board, meta={})
        packages.set_variant(s, package_id=pkg.id, language="vi", status=VariantStatus.READY)
        packages.set_variant(s, package_id=pkg.id, language="km", status=VariantStatus.BLOCKED, blocked_reason="MT")
        pkg.manifest_hash = obj.sha256  # stands in for a manifest: these tests are about who may act
        packages.set_status(s, pkg, PackageStatus.IN_REVIEW, actor="system")
        return rev.draft_id, pkg.id, obj.key


@pytest.fixture
def app_client(shared_web_home: Path) -> Iterator[TestClient]:
    app = create_app(get_settings())
    app.state.flows = RecordingFlows()
    with TestClient(app, follow_redirects=False) as client:
        yield client


def csrf_of(client: TestClient) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert m, "login page has no CSRF field"
    return m.group(1)


def login(client: TestClient, user: str) -> str:
    if user == ANON:
        return csrf_of(client)
    resp = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": csrf_of(client)})
    assert resp.status_code == 303, (user, resp.status_code, resp.text[:300])
    return csrf_of(client)


def expected(user: str, allowed: set[str], ok: int, *, api: bool = False) -> int:
    if user == ANON:
        return 401 if api else 303
    return ok if user in allowed else 403


PAGE_CASES = [
    # (method, path template, form, allowed users, status when allowed)
    ("GET", "/", {}, EVERYONE, 200),
    ("GET", "/queue", {}, EVERYONE, 200),
    ("GET", "/drafts/new", {}, CREATORS | {"editor_mychanh"}, 200),  # editors anywhere: the areas are chosen on it
    ("POST", "/drafts", {"title": "Họp dân", "body": "Mời bà con dự họp dân lúc 19 giờ tại nhà văn hóa ấp.",
                         "area": DRAFT_AREA, "languages": "vi", "priority": "thuong"}, CREATORS, 303),
    ("GET", "/drafts/{draft}", {}, VIEWERS, 200),
    ("POST", "/drafts/{draft}/produce", {}, CREATORS, 303),
    ("POST", "/drafts/{draft}/edit",
     {"title": "Thông báo cắt điện (sửa)", "body": "Điện lực thông báo cắt điện từ 8 giờ đến 11 giờ ngày 5/12."},
     CREATORS, 303),
    ("GET", "/packages/{package}", {}, VIEWERS, 200),
    ("GET", "/assets/{asset}", {}, VIEWERS, 200),
    ("GET", "/translations", {}, EVERYONE, 200),
    ("GET", "/packages/{package}/translate/km", {}, KHMER_EDITORS, 200),
    ("POST", "/packages/{package}/translate/km", {"script": "សូមជម្រាបជូន", "board_text": "ការចាក់វ៉ាក់សាំង"},
     KHMER_EDITORS, 303),
    # The older recording address replaces the voice like the variant's voice form: editors and approvers.
    ("POST", "/packages/{package}/recording/vi", {"file": "recording"}, VIETNAMESE_EDITORS | APPROVERS, 303),
    # A produced variant: its editors, and approvers correcting it before they approve.
    ("GET", "/packages/{package}/variants/vi/edit", {}, VIETNAMESE_EDITORS | APPROVERS, 200),
    ("POST", "/packages/{package}/variants/vi/edit", {"script": "Cắt điện từ 8 giờ.", "board_text": "Cắt điện."},
     VIETNAMESE_EDITORS | APPROVERS, 303),
    ("POST", "/packages/{package}/variants/vi/voice", {"file": "recording"}, VIETNAMESE_EDITORS | APPROVERS, 303),
    ("POST", "/packages/{package}/reject", {"reason": "Sai ngày"}, APPROVERS, 303),
    ("POST", "/packages/{package}/approve", {"manifest_hash": "{hash}"}, APPROVERS, 303),
    ("POST", "/packages/{package}/withdraw", {"reason": "Sai thông tin", "approve_first": "1"}, APPROVERS, 303),
    ("GET", "/packages/{package}/progress", {}, VIEWERS, 200),
    ("POST", "/packages/{package}/retry", {"approve_first": "1"}, APPROVERS | {"admin"}, 303),
    ("GET", "/programs/settings?area=" + DRAFT_AREA, {}, AREA_CONFIGURERS, 200),
    ("POST", "/programs/settings/programs", {"area": DRAFT_AREA, "name": "Bản tin sáng {package}", "at": "06:00"},
     AREA_CONFIGURERS, 303),
    ("POST", "/programs/settings/programs/{program}/active", {"area": DRAFT_AREA, "active": "0"},
     AREA_CONFIGURERS, 303),
    ("POST", "/programs/settings/quiet", {"area": DRAFT_AREA, "value": "22:00-05:00"}, AREA_CONFIGURERS, 303),
    ("POST", "/programs/settings/volume", {"area": DRAFT_AREA, "value": "05:00-22:00=80"}, AREA_CONFIGURERS, 303),
    ("POST", "/programs/settings/default", {"area": DRAFT_AREA, "value": ""}, AREA_CONFIGURERS, 303),
]


def _program_id() -> int:
    """A programme of the draft's commune (for the switch-off case)."""
    from services import programs as program_service

    with session() as s:
        return program_service.save_program(s, area_code=DRAFT_AREA, name="Bản tin chiều", at="17:00",
                                            actor="test").id


@pytest.mark.integration
@pytest.mark.parametrize("user", USERS)
def test_page_routes(app_client: TestClient, user: str) -> None:
    csrf = login(app_client, user)
    for method, template, form, allowed, ok in PAGE_CASES:
        draft_id, package_id, key = make_item()
        with session() as s:
            manifest_hash = packages.get_package(s, package_id).manifest_hash or ""
        path = template.format(draft=draft_id, package=package_id, asset=key,
                               program=_program_id() if "{program}" in template else 0)
        if method == "GET":
            resp = app_client.get(path)
        elif form.get("file"):
            resp = app_client.post(path, data={"csrf": csrf}, files={form["file"]: ("doc.wav", WAV, "audio/wav")})
        else:
            if form.get("approve_first"):  # only an approved package can be withdrawn
                with session() as s:
                    pkg = packages.get_package(s, package_id)
                    packages.set_status(s, pkg, PackageStatus.APPROVED, actor="test")
            data = {k: v.format(hash=manifest_hash, package=package_id) for k, v in form.items()
                    if k != "approve_first"}
            resp = app_client.post(path, data={**data, "csrf": csrf})
        assert resp.status_code == expected(user, allowed, ok), (user, method, path, resp.text[:200])
        if resp.status_code == 303 and user != ANON and "/approve" in path:
            with session() as s:
                assert packages.get_package(s, package_id).status == "approved"
        if resp.status_code == 303 and user != ANON and "/withdraw" in path:
            with session() as s:
                assert packages.get_package(s, package_id).status == "withdrawn"


@pytest.mark.integration
@pytest.mark.parametrize("user", USERS)
def test_api_routes(app_client: TestClient, user: str) -> None:
    headers = {}
    if user != ANON:
        headers["Authorization"] = "Bearer " + api_token(user)
    body = {"title": "Họp dân", "body": "Mời bà con dự họp dân lúc 19 giờ tại nhà văn hóa ấp.", "areas": [DRAFT_AREA]}
    cases = [
        ("GET", "/api/v1/drafts", None, EVERYONE, 200),
        ("GET", "/api/v1/queue", None, EVERYONE, 200),
        ("POST", "/api/v1/drafts", body, CREATORS, 201),
        ("POST", "/api/v1/drafts/{draft}/produce", None, CREATORS, 202),
        ("GET", "/api/v1/packages/{package}", None, VIEWERS, 200),
        ("GET", "/api/v1/packages/{package}/progress", None, VIEWERS, 200),
        ("POST", "/api/v1/packages/{package}/retry", None, APPROVERS | {"admin"}, 409),  # allowed; not approved yet
        ("GET", "/api/v1/translations", None, EVERYONE, 200),
        ("POST", "/api/v1/packages/{package}/translations/km", {"script": "សូមជម្រាបជូន", "board_text": "ការចាក់"},
         KHMER_EDITORS, 202),
        ("POST", "/api/v1/packages/{package}/recordings/vi", "FILE", VIETNAMESE_EDITORS | APPROVERS, 202),
        ("PUT", "/api/v1/packages/{package}/variants/vi/text", {"script": "Cắt điện từ 8 giờ.", "board_text": "Cắt."},
         VIETNAMESE_EDITORS | APPROVERS, 202),
        ("POST", "/api/v1/packages/{package}/variants/vi/voice", "FILE", VIETNAMESE_EDITORS | APPROVERS, 202),
        ("POST", "/api/v1/packages/{package}/reject", {"reason": "Sai ngày"}, APPROVERS, 200),
        ("POST", "/api/v1/packages/{package}/approve", {"manifest_hash": "{hash}"}, APPROVERS, 200),
    ]
    for method, template, payload, allowed, ok in cases:
        draft_id, package_id, _ = make_item()
        with session() as s:
            manifest_hash = packages.get_package(s, package_id).manifest_hash or ""
        path = template.format(draft=draft_id, package=package_id)
        if payload == "FILE":
            resp = app_client.post(path, headers=headers, files={"recording": ("doc.wav", WAV, "audio/wav")})
        else:
            if payload and "manifest_hash" in payload:
                payload = {"manifest_hash": manifest_hash}
            resp = app_client.request(method, path, json=payload, headers=headers)
        assert resp.status_code == expected(user, allowed, ok, api=True), (user, method, path, resp.text[:200])


@pytest.mark.integration
def test_listings_show_only_visible_items(app_client: TestClient) -> None:
    make_item()
    login(app_client, "editor_mychanh")
    assert "Thông báo cắt điện" not in app_client.get("/").text
    assert "Thông báo cắt điện" not in app_client.get("/queue").text
    app_client.cookies.clear()
    login(app_client, "approver_chauthanh")
    assert "Thông báo cắt điện" in app_client.get("/queue").text


@pytest.mark.integration
def test_level_policy_through_the_web(app_client: TestClient) -> None:
    """A bulletin for two communes of a district needs the district: the commune approver is refused."""
    with session() as s:
        rev = drafts.create_draft(s, author="editor_daloc", content=DraftContent(
            title="Lịch cắt nước liên xã", body="Nhà máy nước thông báo tạm ngưng cấp nước ngày 6/12 để sửa đường ống.",
            area_codes=(DRAFT_AREA, "29380"), languages=("vi",), priority=Priority.THUONG))
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        obj = object_store().put_bytes(b"two communes", ext="txt", media_type="text/plain")
        packages.record_asset(s, package_id=pkg.id, language="vi", kind=AssetKind.SCRIPT, stored=obj, meta={})
        packages.set_variant(s, package_id=pkg.id, language="vi", status=VariantStatus.READY)
        pkg.manifest_hash = obj.sha256
        packages.set_status(s, pkg, PackageStatus.IN_REVIEW, actor="system")
        package_id, manifest_hash = pkg.id, obj.sha256
    csrf = login(app_client, "approver_daloc")
    page = app_client.get(f"/packages/{package_id}").text
    assert "Duyệt</button>" not in page and "cấp huyện · Huyện Châu Thành" in page
    resp = app_client.post(f"/packages/{package_id}/approve", data={"manifest_hash": manifest_hash, "csrf": csrf})
    assert resp.status_code == 403
    app_client.cookies.clear()
    csrf = login(app_client, "approver_chauthanh")
    assert "Lịch cắt nước liên xã" in app_client.get("/queue").text
    resp = app_client.post(f"/packages/{package_id}/approve", data={"manifest_hash": manifest_hash, "csrf": csrf})
    assert resp.status_code == 303
    with session() as s:
        assert packages.get_package(s, package_id).status == "approved"
    assert ("publish", package_id) in app_client.app.state.flows.started  # approval starts publication


@pytest.mark.integration
def test_forms_without_csrf_token_are_refused(app_client: TestClient) -> None:
    draft_id, package_id, _ = make_item()
    login(app_client, "approver_daloc")
    resp = app_client.post(f"/packages/{package_id}/approve", data={"manifest_hash": "x" * 64})
    assert resp.status_code == 403
    with session() as s:
        assert packages.get_package(s, package_id).status == "in_review"


@pytest.mark.integration
def test_login_is_throttled_after_repeated_failures(app_client: TestClient) -> None:
    for _ in range(5):
        resp = app_client.post("/login", data={"username": "admin", "password": "wrong-password",
                                               "csrf": csrf_of(app_client)})
        assert resp.status_code == 401
    resp = app_client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf": csrf_of(app_client)})
    assert resp.status_code == 429  # even the right password waits out the window
    cookie = app_client.cookies.get("bantin_session")
    assert cookie is not None


@pytest.mark.integration
def test_session_cookie_is_httponly_and_samesite(app_client: TestClient) -> None:
    resp = app_client.post("/login", data={"username": "editor_daloc", "password": PASSWORD,
                                           "csrf": csrf_of(app_client)})
    cookie = resp.headers["set-cookie"].lower()
    assert "bantin_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


@pytest.mark.integration
def test_output_is_escaped(app_client: TestClient) -> None:
    csrf = login(app_client, "editor_daloc")
    resp = app_client.post("/drafts", data={"title": "<script>alert(1)</script> Thông báo",
                                            "body": "Nội dung <b>in đậm</b> đủ dài để kiểm tra việc thoát ký tự.",
                                            "area": DRAFT_AREA, "languages": "vi", "priority": "thuong",
                                            "csrf": csrf})
    assert resp.status_code == 303
    page = app_client.get(resp.headers["location"]).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.integration
def test_api_bad_input_gets_clear_errors(app_client: TestClient) -> None:
    token = api_token("approver_daloc")
    auth_header = {"Authorization": f"Bearer {token}"}
    assert app_client.get("/api/v1/drafts", headers={"Authorization": "Bearer forged.token"}).status_code == 401
    _, package_id, _ = make_item()
    bad_hash = app_client.post(f"/api/v1/packages/{package_id}/approve", json={"manifest_hash": "zz<script>"},
                               headers=auth_header)
    assert bad_hash.status_code == 422
    stale = app_client.post(f"/api/v1/packages/{package_id}/approve", json={"manifest_hash": "ab" * 32},
                            headers=auth_header)
    assert stale.status_code == 409 and "changed since review" in stale.json()["error"]
    missing = app_client.get("/api/v1/packages/999999", headers=auth_header)
    assert missing.status_code == 404 and "no package" in missing.json()["error"]
    with session() as s:
        assert packages.get_package(s, package_id).status == "in_review"
    assert "/api/v1/packages/{package_id}/approve" in app_client.get("/openapi.json").json()["paths"]


@pytest.mark.integration
def test_withdraw_and_kill_rules(app_client: TestClient) -> None:
    from domain.errors import InvalidInput, InvalidTransition
    from services import approvals as approval_service

    _, package_id, _ = make_item()
    with session() as s, pytest.raises(InvalidTransition):  # in review: reject it instead
        approval_service.withdraw_package(s, package_id=package_id, username="approver_daloc", reason="Sai")
    with session() as s:
        pkg = packages.get_package(s, package_id)
        packages.set_status(s, pkg, PackageStatus.APPROVED, actor="test")
        packages.set_status(s, pkg, PackageStatus.PUBLISHED, actor="test")
    with session() as s, pytest.raises(InvalidInput, match="reason"):
        approval_service.withdraw_package(s, package_id=package_id, username="approver_daloc", reason=" ")
    csrf = login(app_client, "approver_travinh")
    resp = app_client.post(f"/packages/{package_id}/withdraw", data={"reason": "Tin sai sự thật", "kill": "1",
                                                                      "csrf": csrf})
    assert resp.status_code == 303
    # Devices and receivers must hear of the kill: the retraction flow starts right away.
    assert ("retract", package_id) in app_client.app.state.flows.started
    with session() as s:
        assert packages.get_package(s, package_id).status == "killed"
