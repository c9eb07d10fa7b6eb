"""The station named in the opening and the instruction an emergency repeats."""

import pytest

from domain.areas import Area, AreaLevel
from domain.errors import InvalidInput
from domain.framing import announcer_for, key_instruction, spoken_title, station_of, validate_station

DA_LOC = Area("29377", "Xã Đa Lộc", AreaLevel.COMMUNE, "847")
TOWN = Area("29374", "Thị trấn Châu Thành", AreaLevel.COMMUNE, "847")


def test_station_is_named_after_the_area() -> None:
    assert station_of(DA_LOC) == "Đài Truyền thanh xã Đa Lộc"
    assert station_of(TOWN) == "Đài Truyền thanh thị trấn Châu Thành"


def test_configured_station_wins_and_several_areas_use_the_fallback() -> None:
    assert announcer_for([DA_LOC], {}) == "Đài Truyền thanh xã Đa Lộc"
    assert announcer_for([DA_LOC], {"29377": "Đài Truyền thanh - Truyền hình xã Đa Lộc"}) == \
        "Đài Truyền thanh - Truyền hình xã Đa Lộc"
    assert announcer_for([DA_LOC, TOWN], {}, fallback="UBND huyện Châu Thành") == "UBND huyện Châu Thành"
    assert announcer_for([DA_LOC, TOWN], {}) == "Đài Truyền thanh"


def test_key_instruction_prefers_an_order() -> None:
    sentences = ["Mực nước sông Ba đang lên nhanh.", "Đề nghị bà con theo dõi tin tức.",
                 "Ban chỉ huy yêu cầu các hộ di dời trước 17 giờ."]
    assert key_instruction(sentences) == "Ban chỉ huy yêu cầu các hộ di dời trước 17 giờ."
    assert key_instruction(sentences[:2]) == "Đề nghị bà con theo dõi tin tức."
    assert key_instruction(sentences[:1]) == "Mực nước sông Ba đang lên nhanh."
    assert key_instruction([]) == ""


def test_station_name_is_validated() -> None:
    assert validate_station("  Đài Truyền thanh   xã Đa Lộc ") == "Đài Truyền thanh xã Đa Lộc"
    with pytest.raises(InvalidInput):
        validate_station(" ")
    with pytest.raises(InvalidInput):
        validate_station("x" * 121)


@pytest.mark.parametrize(("title", "spoken"), [
    ("Thông báo lịch tiêm vắc xin sởi cho trẻ em tháng 12 năm 2026.",
     "Lịch tiêm vắc xin sởi cho trẻ em tháng 12 năm 2026"),
    ("THÔNG BÁO KHẨN: Lũ quét trên suối Nậm Mu", "Lũ quét trên suối Nậm Mu"),
    ("Thông báo về việc cắt điện thôn Đông", "Cắt điện thôn Đông"),
    ("Thông báo", "Thông báo"),
    ("Thông báo mới", "Thông báo mới"),
    ("Lịch cắt điện thôn Đông", "Lịch cắt điện thôn Đông"),
])
def test_the_frame_does_not_say_thong_bao_twice(title: str, spoken: str) -> None:
    assert spoken_title(title) == spoken
