"""Feedback domain rules: transitions, routing, validation, working-day due dates, figures, duplicates."""

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import InvalidInput, InvalidTransition
from domain.feedback import (
    DEFAULT_CATEGORIES,
    Category,
    FeedbackError,
    FeedbackState,
    RoutingRule,
    WorkCalendar,
    answer_bulletin_text,
    category_map,
    check_feedback_transition,
    due_date,
    due_deadline,
    is_overdue,
    mask_phone,
    normalize_phone,
    parse_tracking_code,
    public_feedback_url,
    route,
    similarity,
    tracking_code,
    validate_text,
)
from domain.feedback_figures import ItemTimes, compute_figures
from services.feedback_config import FeedbackConfig, parse_config, vietnam_holidays

S = FeedbackState
# Trà Vinh (84) > Châu Thành (847) > Đa Lộc (29377); a two-tier province 96 > commune 32000.
PARENTS = {"84": None, "847": "84", "29377": "847", "29380": "847", "96": None, "32000": "96"}


@pytest.mark.parametrize("current,target", [
    (S.RECEIVED, S.ASSIGNED), (S.ASSIGNED, S.IN_PROGRESS), (S.IN_PROGRESS, S.ANSWERED), (S.ANSWERED, S.CLOSED),
    (S.RECEIVED, S.REJECTED), (S.IN_PROGRESS, S.RECEIVED), (S.ANSWERED, S.IN_PROGRESS)])
def test_allowed_transitions(current: FeedbackState, target: FeedbackState) -> None:
    assert check_feedback_transition(current, target) is target


@pytest.mark.parametrize("current,target", [
    (S.RECEIVED, S.ANSWERED), (S.CLOSED, S.IN_PROGRESS), (S.REJECTED, S.RECEIVED), (S.ANSWERED, S.REJECTED),
    (S.RECEIVED, S.CLOSED)])
def test_refused_transitions(current: FeedbackState, target: FeedbackState) -> None:
    with pytest.raises(InvalidTransition, match=f"cannot go from '{current.value}' to '{target.value}'"):
        check_feedback_transition(current, target)


def test_route_defaults_to_the_area_itself_and_follows_rules_in_order() -> None:
    rules = [RoutingRule("security", "*", "@province"), RoutingRule("*", "847", "847"),
             RoutingRule("environment", "*", "@parent")]
    assert route("29377", "security", rules, PARENTS) == "84"
    assert route("29377", "policy", rules, PARENTS) == "847"  # the district rule matches any category
    assert route("32000", "policy", rules, PARENTS) == "32000"  # no rule: the commune of the area
    assert route("32000", "environment", rules, PARENTS) == "96"  # @parent in a two-tier tree is the province
    assert route("32000", "security", rules, PARENTS) == "96"
    assert route("29380", "policy", [], PARENTS) == "29380"


def test_validate_text_limits_and_cleaning() -> None:
    assert validate_text("  Đèn đường\x00 hỏng  \r\n\r\n\r\n ở thôn 3 ") == "Đèn đường hỏng\n\nở thôn 3"
    with pytest.raises(FeedbackError) as empty:
        validate_text(" \n ")
    assert empty.value.code == "empty"
    with pytest.raises(FeedbackError) as short:
        validate_text("hỏng")
    assert short.value.code == "too_short"
    with pytest.raises(FeedbackError) as long:
        validate_text("a" * 4001)
    assert long.value.code == "too_long"


@pytest.mark.parametrize("raw,expected", [("0912 345 678", "0912345678"), ("+84912345678", "0912345678"),
                                          ("84-912-345-678", "0912345678"), ("", "")])
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "0912abc678", "<script>"])
def test_normalize_phone_refuses_non_numbers(raw: str) -> None:
    with pytest.raises(FeedbackError, match="Số điện thoại không hợp lệ"):
        normalize_phone(raw)


def test_mask_phone() -> None:
    assert mask_phone("0912345678") == "091*****78"


def test_tracking_codes_are_eight_unambiguous_characters_and_parse_back() -> None:
    code = tracking_code(bytes([0, 0, 0, 0, 0]))
    assert code == "AAAAAAAA"
    other = tracking_code(bytes([255, 1, 2, 3, 4]))
    assert len(other) == 8 and not set(other) & set("01IO")
    assert parse_tracking_code(f" {other[:4].lower()}-{other[4:]} ") == other
    with pytest.raises(FeedbackError, match="Mã theo dõi không đúng"):
        parse_tracking_code("ABC")


def weekdays_only() -> WorkCalendar:
    return WorkCalendar(is_holiday=lambda d: False)


def test_due_date_skips_weekends_and_counts_from_the_next_day() -> None:
    friday_evening_vn = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)  # 23:30 Friday in Vietnam
    assert due_date(friday_evening_vn, 3, weekdays_only()) == date(2026, 3, 11)  # Mon, Tue, Wed
    saturday_vn = datetime(2026, 3, 6, 17, 30, tzinfo=UTC)  # 00:30 Saturday in Vietnam
    assert due_date(saturday_vn, 1, weekdays_only()) == date(2026, 3, 9)


def test_due_date_skips_tet_2026_from_the_holidays_library() -> None:
    cal = FeedbackConfig().calendar()
    received = datetime(2026, 2, 13, 3, 0, tzinfo=UTC)  # Friday 13 Feb 2026, 10:00 in Vietnam
    # Tết: Mon 16 - Fri 20 Feb are public holidays; then a weekend: the three days are 23, 24, 25 Feb.
    assert due_date(received, 3, cal) == date(2026, 2, 25)
    assert due_date(received, 3, weekdays_only()) == date(2026, 2, 18)


def test_extra_days_off_and_makeup_saturdays_from_the_config() -> None:
    cfg = parse_config({"days_off": ["2026-03-10"], "makeup_days": ["2026-03-07"]})
    cal = cfg.calendar()
    received = datetime(2026, 3, 6, 3, 0, tzinfo=UTC)  # Friday
    # Saturday 7 is worked, Sunday not, Monday 9 is, Tuesday 10 is a day off, Wednesday 11 is the third.
    assert due_date(received, 3, cal) == date(2026, 3, 11)
    assert vietnam_holidays()(date(2026, 9, 2)) and not vietnam_holidays()(date(2026, 9, 3))


def test_overdue_only_after_the_end_of_the_due_day_in_vietnam() -> None:
    due = date(2026, 3, 11)
    assert due_deadline(due) == datetime(2026, 3, 11, 17, 0, tzinfo=UTC)  # midnight in Vietnam
    assert not is_overdue(S.ASSIGNED, due, datetime(2026, 3, 11, 16, 59, tzinfo=UTC))
    assert is_overdue(S.ASSIGNED, due, datetime(2026, 3, 11, 17, 0, tzinfo=UTC))
    assert not is_overdue(S.ANSWERED, due, datetime(2026, 4, 1, tzinfo=UTC))


def item(state: FeedbackState, received: datetime, due: date, answered: datetime | None,
         category: str = "policy", area: str = "29377") -> ItemTimes:
    return ItemTimes(state, category, area, received, due, answered)


def test_figures_on_time_share_median_and_counts() -> None:
    r = datetime(2026, 2, 13, 3, 0, tzinfo=UTC)
    due = date(2026, 2, 25)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    items = [
        item(S.ANSWERED, r, due, r + timedelta(hours=10)),  # on time
        item(S.CLOSED, r, due, datetime(2026, 2, 25, 16, 0, tzinfo=UTC), "security"),  # 23:00 on the due day
        item(S.ANSWERED, r, due, datetime(2026, 2, 25, 17, 30, tzinfo=UTC), area="29380"),  # 00:30 next day: late
        item(S.IN_PROGRESS, r, due, None),  # open past its due date: counts as late
        item(S.RECEIVED, r, date(2026, 3, 5), None),  # not yet due: not counted
        item(S.REJECTED, r, due, None),  # spam: not counted
    ]
    f = compute_figures(items, now)
    assert f.total == 6
    assert f.by_state == {"answered": 2, "closed": 1, "in_progress": 1, "received": 1, "rejected": 1}
    assert f.by_category == {"policy": 5, "security": 1}
    assert f.by_area == {"29377": 5, "29380": 1}
    assert (f.answered, f.answered_on_time, f.counted_for_on_time, f.overdue) == (3, 2, 4, 1)
    assert f.on_time_percent == 50.0
    assert f.median_hours_to_answer == 301.0  # 10 h, 301 h, 302.5 h


def test_figures_with_nothing_counted() -> None:
    f = compute_figures([], datetime(2026, 3, 2, tzinfo=UTC))
    assert (f.total, f.on_time_percent, f.median_hours_to_answer) == (0, None, None)


def test_similarity_folds_diacritics_and_ranks_near_duplicates() -> None:
    a = "Đèn đường ở thôn Ô Rồm bị hỏng mấy tuần nay, buổi tối rất tối"
    b = "den duong o thon O Rom bi hong may tuan nay, buoi toi rat toi"
    c = "Loa phát thanh ở chợ quá to vào buổi sáng sớm"
    assert similarity(a, b) == 1.0
    assert similarity(a, c) < 0.1


def test_category_map_rejects_duplicates_and_bad_due_days() -> None:
    assert "broadcast_loud" in category_map(DEFAULT_CATEGORIES)
    with pytest.raises(InvalidInput, match="listed twice"):
        category_map([Category("x1", "a", "a", 3), Category("x1", "b", "b", 3)])
    with pytest.raises(InvalidInput, match="due_days"):
        category_map([Category("x1", "a", "a", 0)])


def test_public_url_and_bulletin_text_hold_no_personal_data() -> None:
    assert public_feedback_url("https://bantin.example.vn/", "29377", 42) == \
        "https://bantin.example.vn/phan-anh/29377?ban-tin=42"
    assert public_feedback_url("http://h", "29377") == "http://h/phan-anh/29377"
    title, body = answer_bulletin_text(DEFAULT_CATEGORIES[1], "Xã sẽ sửa đèn đường trong tuần này.", "Xã Đa Lộc")
    assert title == "Trả lời phản ánh của người dân: Hạ tầng (đường, điện, nước)"
    assert body.startswith("Ủy ban nhân dân xã Đa Lộc trả lời ý kiến phản ánh")
    assert body.endswith("Xã sẽ sửa đèn đường trong tuần này.")
