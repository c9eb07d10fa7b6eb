"""The feedback section of reports and the dashboard's overdue count come from the feedback service: items
submitted, answered and rejected through it at controlled times, and the figures expected written out here."""

from datetime import UTC, datetime

from services import dashboard, feedback, feedback_adapter, feedback_intake
from services import reports as report_service
from services.report_render import to_csv
from services.rollups import Thresholds
from services.runtime import object_store, session

NOW = datetime(2026, 10, 5, 3, 0, tzinfo=UTC)  # Q3 2026 is over; the report is made on 5 October
Q3 = report_service.resolve_period("2026-Q3", today=NOW.date())
TEXT = "Đường vào thôn bị sạt lở sau mưa lớn, xe máy không đi được, đề nghị xã kiểm tra."


def _submit(area: str, at: datetime, *, answered: datetime | None = None, reject: bool = False) -> int:
    with session() as s:
        fid = feedback_intake.submit(s, object_store(), feedback_intake.Submission(
            area_code=area, category="policy", text=TEXT), now=at).feedback_id
        if answered is not None:
            feedback.assign(s, fid, actor="admin")
            feedback.answer(s, fid, actor="admin", text="Xã đã cử người san lấp, đường đi lại được.", now=answered)
        if reject:
            feedback.reject(s, fid, actor="admin", reason="spam")
    return fid


def test_zero_figures_without_feedback(province) -> None:
    with session() as s:
        data = report_service.compute(s, Q3, "08", now=NOW)
        board = dashboard.build(s, "08", now=NOW, thresholds=Thresholds(300, 3600))
    assert data.feedback == {"received": 0, "answered": 0, "answered_on_time": 0, "on_time_pct": None, "overdue": 0,
                             "median_hours": None}
    assert board.queues["overdue_feedback"] == 0
    rows = to_csv(data).decode("utf-8-sig").splitlines()
    assert "Phản ánh tiếp nhận,0" in rows and "Tỷ lệ trả lời đúng hạn (%)," in rows


def test_figures_from_feedback_items(province) -> None:
    # Policy items are due 10 working days after receipt: answered within hours is on time, after 10 weeks late.
    _submit("02200", datetime(2026, 7, 2, 2, 0, tzinfo=UTC), answered=datetime(2026, 7, 2, 4, 0, tzinfo=UTC))
    _submit("02203", datetime(2026, 7, 10, 2, 0, tzinfo=UTC), answered=datetime(2026, 9, 20, 2, 0, tzinfo=UTC))
    _submit("02233", datetime(2026, 8, 3, 2, 0, tzinfo=UTC))  # district 071, never answered: overdue by NOW
    _submit("02206", datetime(2026, 9, 30, 10, 0, tzinfo=UTC))  # 17:00 on 30/9 in Vietnam: in Q3, not due yet
    _submit("02200", datetime(2026, 7, 15, 2, 0, tzinfo=UTC), reject=True)  # spam: received, never on-time/overdue
    _submit("02200", datetime(2026, 6, 20, 2, 0, tzinfo=UTC))  # Q2: outside the report, overdue on the dashboard
    _submit("29377", datetime(2026, 7, 5, 2, 0, tzinfo=UTC))  # Trà Vinh: outside province 08

    with session() as s:
        province_q3 = report_service.compute(s, Q3, "08", now=NOW).feedback
        district_q3 = report_service.compute(s, Q3, "070", now=NOW)
        overdue = {code: feedback_adapter.overdue_count(s, code, NOW) for code in ("08", "070", "071", "84")}
        board = dashboard.build(s, "08", now=NOW, thresholds=Thresholds(300, 3600))
    # 08: five received in Q3; of the three that count (two answered, one overdue) one answered on time.
    # Answered after 2 h (2 July) and after 72 days (10 July to 20 September, 1728 h): the median is 865 h.
    assert province_q3 == {"received": 5, "answered": 2, "answered_on_time": 1, "on_time_pct": 33.3, "overdue": 1,
                           "median_hours": 865.0}
    # 070: four received (not 071's); two count, one on time.
    assert district_q3.feedback == {"received": 4, "answered": 2, "answered_on_time": 1, "on_time_pct": 50.0,
                                    "overdue": 0, "median_hours": 865.0}
    assert overdue == {"08": 2, "070": 1, "071": 1, "84": 1}
    assert board.queues["overdue_feedback"] == 2
    rows = to_csv(district_q3).decode("utf-8-sig").splitlines()
    assert "Phản ánh tiếp nhận,4" in rows and "Tỷ lệ trả lời đúng hạn (%),50.0" in rows
    assert "Thời gian trả lời trung vị (giờ),865.0" in rows
