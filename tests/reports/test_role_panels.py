"""Dashboard panels per role against the simulated province: an editor of district 070, a province approver, a
commune officer of 02200 and a provincial admin each see what concerns them (expected lists written out here),
and the page shows each person their panels only."""

from datetime import UTC, datetime, timedelta

from domain.approvals import Role
from domain.areas import AreaLevel
from domain.packages import PackageStatus
from domain.users import Membership
from services import dashboard_roles, feedback, feedback_intake, report_files, rollups
from services.runtime import object_store, session
from storage.models import DraftRecord, PackageRecord
from storage.repositories import reports as repo
from storage.repositories import users
from tests.devices.factory import published_package
from tests.reports.test_dashboard import _edition
from tests.reports.test_web_dashboard import login

PASSWORD = "mat-khau-thu-nghiem-2026"
PEOPLE = {
    "bientap": [Membership(Role.EDITOR, "070")],
    "duyet": [Membership(Role.APPROVER, "08", level=AreaLevel.PROVINCE)],
    "canbo_xa": [Membership(Role.EDITOR, "02200")],
    "quantri": [Membership(Role.ADMIN, "08")],
}


def _people() -> None:
    with session() as s:
        for name, ms in PEOPLE.items():
            users.add_user(s, username=name, full_name=name, memberships=ms, password=PASSWORD)


def _by(author: str, pid: int) -> None:
    with session() as s:
        s.get(DraftRecord, s.get(PackageRecord, pid).draft_id).author = author


def _feedback(area: str, at: datetime, answered: bool = False) -> int:
    with session() as s:
        fid = feedback_intake.submit(s, object_store(), feedback_intake.Submission(
            area_code=area, category="policy", text="Đèn đường thôn 3 bị hỏng hơn một tuần, đề nghị sửa."),
            now=at).feedback_id
        if answered:
            feedback.assign(s, fid, actor="admin")
            feedback.answer(s, fid, actor="admin", text="Điện lực xã đã thay bóng đèn.", now=at + timedelta(hours=1))
    return fid


def test_each_role_sees_what_concerns_them(province) -> None:
    _people()
    now = datetime.now(UTC)
    p1, h1 = published_package(title="Lịch thu thuế", areas=("070",), languages="vi")
    p2, _ = published_package(title="Họp dân thôn 2", areas=("02200",), languages="vi",
                              status=PackageStatus.IN_REVIEW)
    p3, _ = published_package(title="Tin huyện Lâm Bình", areas=("071",), languages="vi")
    for pid in (p1, p2, p3):
        _by("bientap", pid)
    p4, _ = published_package(title="Cảnh báo rét đậm", areas=("08",), languages="vi", priority="khan_cap",
                              status=PackageStatus.IN_REVIEW)
    published_package(title="Tin Trà Vinh", areas=("84",), languages="vi", status=PackageStatus.IN_REVIEW)
    p6, _ = published_package(title="Tiêm phòng cho gia súc", areas=("02200",), languages="vi")
    with session() as s:
        t1 = repo.published_times(s, [p1])[p1]
    province.play("a1", h1, t1 + timedelta(seconds=5))
    province.play("b1", h1, t1 + timedelta(seconds=9))
    _, morning = published_package(title="Chương trình sáng", areas=("02200",), languages="vi")
    p_noon, noon = published_package(title="Chương trình trưa", areas=("02200",), languages="vi")
    _edition("02200", "Bản tin sáng", morning, now - timedelta(minutes=2))
    _edition("02200", "Bản tin trưa", noon, now - timedelta(minutes=1))
    _edition("02200", "Bản tin tối", noon, now + timedelta(hours=2))
    province.play("a2", morning, now - timedelta(minutes=1))
    late = _feedback("02200", now - timedelta(days=30))
    fresh = _feedback("02200", now - timedelta(hours=1))
    _feedback("02203", now - timedelta(days=30))  # another commune
    _feedback("02200", now - timedelta(days=2), answered=True)
    rollups.fold_all(session)
    now = datetime.now(UTC) + timedelta(minutes=1)  # the plays above (seconds after publication) are past

    with session() as s:
        editor = dashboard_roles.panels(s, "bientap", "070", now=now)
        approver = dashboard_roles.panels(s, "duyet", "070", now=now)
        officer = dashboard_roles.panels(s, "canbo_xa", "02200", now=now)
        admin = dashboard_roles.panels(s, "quantri", "08", now=now)

    # The editor: their bulletins reaching 070 (not 071's), newest first, devices that played / targeted.
    assert [(b.package_id, b.status, b.devices, b.devices_played) for b in editor.editor or ()] == [
        (p2, "in_review", 2, 0), (p1, "published", 6, 2)]
    assert (editor.approver, editor.feedback, editor.reports_due) == (None, None, None)
    # The approver: the province emergency first, then the commune's package; Trà Vinh's is not theirs.
    assert [w.package_id for w in approver.approver or ()] == [p4, p2]
    assert approver.editor is None
    # The commune officer: open feedback of 02200, overdue first; what is due there and unplayed.
    assert [(f.feedback_id, f.overdue) for f in officer.feedback or ()] == [(late, True), (fresh, False)]
    # Due and unplayed: the noon edition (the morning one a2 played, the evening one is not due), and the
    # bulletins for 02200 no device there played (p1 a1 played; the morning programme's a2 played), by time.
    assert [(u.title, u.package_id) for u in officer.unplayed or ()] == [
        ("Bản tin trưa", None), ("Tiêm phòng cho gia súc", p6), ("Chương trình trưa", p_noon)]
    assert officer.editor == () and officer.approver is None and officer.reports_due is None
    # The provincial admin: communes whose devices played nothing in 7 days.
    assert [(q.code, q.devices) for q in admin.quiet_communes or ()] == [("02206", 2), ("02233", 1)]
    assert (admin.editor, admin.approver, admin.feedback) == (None, None, None)


def test_reports_due_for_the_provincial_admin(province) -> None:
    _people()
    dec7 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # Q4 and H2 were due on 6 December; December's is due the 15th
    with session() as s:
        due = dashboard_roles.panels(s, "quantri", "08", now=dec7).reports_due
        report_files.generate(s, object_store(), period="2026-12", area_code="08", fmt="csv", actor="quantri",
                              now=dec7)
        made = dashboard_roles.panels(s, "quantri", "08", now=dec7).reports_due
    assert [(r.period, r.deadline, r.made) for r in due or ()] == [("2026-12", "2026-12-15", False)]
    assert [(r.period, r.made) for r in made or ()] == [("2026-12", True)]


def test_the_page_shows_each_person_their_panels(province, client) -> None:
    _people()
    login(client, "canbo_xa", PASSWORD)
    page = client.get("/dashboard", follow_redirects=True)
    assert page.status_code == 200 and page.url.path == "/dashboard/area/02200"
    assert 'id="panel-commune"' in page.text and 'id="panel-editor"' in page.text
    assert 'id="panel-approver"' not in page.text and 'id="panel-province"' not in page.text
    assert "Phản ánh đang chờ xử lý" in page.text
    client.get("/logout")
    client.cookies.clear()
    login(client, "quantri", PASSWORD)
    page = client.get("/dashboard/area/08?lang=en")
    assert 'id="panel-province"' in page.text and 'id="panel-commune"' not in page.text
    assert "Communes with devices that played nothing in 7 days" in page.text
