"""A bulletin whose audio lands more than 10 % off its slot is said plainly; a short draft is read whole, not
padded, and the warning says so."""

import pytest

from domain.speech import slot_warning


@pytest.mark.parametrize("seconds", [54.0, 60.0, 66.0, 55.5, 64.9])
def test_within_ten_percent_there_is_no_warning(seconds: float) -> None:
    assert slot_warning(seconds, 60.0) is None
    assert slot_warning(seconds, 60.0, whole=True) is None


def test_a_whole_draft_shorter_than_its_slot_says_it_was_read_whole() -> None:
    warning = slot_warning(41.0, 60.0, whole=True)
    assert warning is not None and warning.code == "short" and warning.whole
    assert warning.text("vi") == ("Bản tin chỉ đọc hết 41 giây, ngắn hơn khung 60 giây (32%): bản thảo đã được đọc "
                                  "trọn vẹn, hệ thống không thêm nội dung. Có thể bổ sung bản thảo hoặc phát như vậy.")
    assert warning.text("en") == ("The bulletin lasts only 41 s, 32% short of its 60 s slot: the whole draft is read "
                                  "and nothing is added to fill it. Add to the draft, or air it as it is.")


def test_short_and_long_scripts_chosen_or_edited() -> None:
    short = slot_warning(26.5, 30.0)
    assert short is not None and short.code == "short" and not short.whole
    assert short.text() == "Bản tin chỉ đọc hết 26 giây, ngắn hơn khung 30 giây (12%)."
    long = slot_warning(50.0, 45.0)
    assert long is not None and long.code == "long"
    assert long.text() == "Bản tin đọc hết 50 giây, dài hơn khung 45 giây (11%). Hãy rút gọn lời đọc."
    assert long.to_meta() == {"code": "long", "seconds": 50.0, "target_seconds": 45.0, "whole": False,
                              "vi": long.vi, "en": long.en}


def test_no_slot_means_no_warning() -> None:
    assert slot_warning(30.0, 0.0) is None
