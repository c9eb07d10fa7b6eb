"""Programme administration in the browser: a commune approver defines, edits and switches off programmes
and sets quiet hours, volume and default content; refusals come back in Vietnamese with what was typed."""

import pytest
from fastapi.testclient import TestClient

from domain.drafts import DraftContent
from domain.packages import PackageStatus
from domain.priority import Priority
from services.runtime import session
from storage.repositories import drafts, packages
from storage.repositories import programs as repo
from tests.web.test_authz import login

pytestmark = pytest.mark.integration
AREA = "29377"  # Xã Đa Lộc


def _published_package(title: str, area: str = AREA, priority: Priority = Priority.THUONG) -> int:
    with session() as s:
        rev = drafts.create_draft(s, author="editor_daloc", content=DraftContent(
            title=title, body="Mời bà con tham gia ngày hội đại đoàn kết toàn dân tộc tại nhà văn hóa ấp.",
            area_codes=(area,), languages=("vi",), priority=priority))
        pkg = packages.create_package(s, draft_id=rev.draft_id,
                                      revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system")
        for status in (PackageStatus.IN_REVIEW, PackageStatus.APPROVED, PackageStatus.PUBLISHED):
            packages.set_status(s, pkg, status, actor="test")
        return pkg.id


def test_an_approver_defines_edits_and_switches_off_a_programme(client: TestClient) -> None:
    csrf = login(client, "approver_daloc")
    page = client.get("/programs/settings")  # the approver's own commune
    assert page.status_code == 200 and "Xã Đa Lộc" in page.text and "Địa bàn này chưa có chương trình nào." in page.text
    resp = client.post("/programs/settings/programs", data={
        "csrf": csrf, "area": AREA, "name": "Bản tin  sáng", "at": "06:00", "days": "t2-t6", "max_minutes": "15",
        "priority": "thuong", "languages": "vi"})
    assert resp.status_code == 303 and resp.headers["location"] == f"/programs/settings?area={AREA}"
    with session() as s:
        (prog,) = repo.list_programs(s, area_codes=[AREA])
        assert (prog.name, prog.at, prog.weekdays, prog.max_s, prog.languages, prog.created_by) == \
            ("Bản tin sáng", "06:00", "01234", 900.0, ["vi"], "approver_daloc")
    page = client.get(f"/programs/settings?area={AREA}").text
    assert "Đã thêm chương trình." in page and "06:00 · Bản tin sáng" in page and "T2-T6" in page

    resp = client.post("/programs/settings/programs", data={
        "csrf": csrf, "area": AREA, "program_id": str(prog.id), "name": "Bản tin buổi sáng", "at": "06:30",
        "days": "daily", "max_minutes": "20", "priority": "uu_tien", "languages": "", "active": "1"})
    assert resp.status_code == 303
    with session() as s:
        again = repo.get_program(s, prog.id)
        assert (again.name, again.at, again.weekdays, again.max_s, again.priority) == \
            ("Bản tin buổi sáng", "06:30", "0123456", 1200.0, "uu_tien")
    assert client.post(f"/programs/settings/programs/{prog.id}/active",
                       data={"csrf": csrf, "area": AREA, "active": "0"}).status_code == 303
    with session() as s:
        assert repo.get_program(s, prog.id).active is False
    assert "Đang tắt" in client.get(f"/programs/settings?area={AREA}").text


def test_a_refused_programme_keeps_what_was_typed(client: TestClient) -> None:
    csrf = login(client, "approver_daloc")
    assert client.post("/programs/settings/quiet", data={"csrf": csrf, "area": AREA,
                                                         "value": "22:00-05:00"}).status_code == 303
    resp = client.post("/programs/settings/programs", data={
        "csrf": csrf, "area": AREA, "name": "Bản tin khuya", "at": "23:00", "days": "daily", "max_minutes": "",
        "priority": "thuong", "languages": ""})
    assert resp.status_code == 422
    assert "rơi vào giờ yên lặng 22:00-05:00 của địa bàn" in resp.text
    assert 'value="Bản tin khuya"' in resp.text and 'value="23:00"' in resp.text
    bad_time = client.post("/programs/settings/programs", data={
        "csrf": csrf, "area": AREA, "name": "Bản tin trưa", "at": "25:99", "days": "thứ tám"})
    assert bad_time.status_code == 422 and "Giờ “25:99” không hợp lệ" in bad_time.text
    with session() as s:
        assert {p.name for p in repo.list_programs(s, area_codes=[AREA])} & {"Bản tin khuya", "Bản tin trưa"} == set()


def test_quiet_hours_volume_and_default_content(client: TestClient) -> None:
    csrf = login(client, "approver_daloc")
    assert client.post("/programs/settings/quiet", data={"csrf": csrf, "area": AREA,
                                                         "value": "21:30-05:00, 11:30-13:00"}).status_code == 303
    assert client.post("/programs/settings/volume", data={"csrf": csrf, "area": AREA,
                                                          "value": "05:00-07:00=60 07:00-21:00=85%"}).status_code == 303
    with session() as s:
        prof = repo.get_profile(s, AREA)
        assert prof is not None
        assert prof.quiet_hours == [{"from": "21:30", "to": "05:00"}, {"from": "11:30", "to": "13:00"}]
        assert prof.volume_profile == [{"from": "05:00", "to": "07:00", "percent": 60},
                                       {"from": "07:00", "to": "21:00", "percent": 85}]
    bad = client.post("/programs/settings/volume", data={"csrf": csrf, "area": AREA, "value": "05:00-07:00=160"})
    assert bad.status_code == 422 and "Âm lượng không hợp lệ" in bad.text and 'value="05:00-07:00=160"' in bad.text

    ours = _published_package("Ngày hội đại đoàn kết")
    elsewhere = _published_package("Tin xã khác", area="29380")
    refused = client.post("/programs/settings/default", data={"csrf": csrf, "area": AREA, "value": f"{elsewhere}"})
    assert refused.status_code == 422
    assert f"Gói tin số {elsewhere} không gửi tới địa bàn này" in refused.text
    assert client.post("/programs/settings/default", data={"csrf": csrf, "area": AREA,
                                                           "value": f"#{ours}"}).status_code == 303
    page = client.get(f"/programs/settings?area={AREA}").text
    assert "Đã lưu nội dung phát mặc định." in page
    assert f'value="{ours}"' in page and "21:30-05:00, 11:30-13:00" in page
    assert client.post("/programs/settings/quiet", data={"csrf": csrf, "area": AREA, "value": ""}).status_code == 303
    with session() as s:
        assert repo.get_profile(s, AREA).quiet_hours == []  # type: ignore[union-attr]


@pytest.mark.parametrize(("user", "status"), [("editor_daloc", 403), ("translator_km", 403),
                                              ("approver_mychanh", 403), ("approver_chauthanh", 200),
                                              ("admin", 200)])
def test_who_may_open_an_areas_settings(client: TestClient, user: str, status: int) -> None:
    csrf = login(client, user)
    assert client.get(f"/programs/settings?area={AREA}").status_code == status
    resp = client.post("/programs/settings/volume", data={"csrf": csrf, "area": AREA, "value": "05:00-22:00=50"})
    assert resp.status_code == (303 if status == 200 else 403)


def test_an_area_is_picked_by_name_and_an_unknown_one_is_said_in_vietnamese(client: TestClient) -> None:
    login(client, "admin")
    assert "Xã Đa Lộc" in client.get("/programs/settings?area=da loc").text
    resp = client.get("/programs/settings?area=khong co xa nay")
    assert resp.status_code == 422 and "Không tìm thấy địa bàn này" in resp.text
    assert 'value="khong co xa nay"' in resp.text
