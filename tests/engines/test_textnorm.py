"""Vietnamese text normalization before TTS: exact spoken forms for numbers, dates, times and more."""

from __future__ import annotations

import re
import unicodedata

import pytest

from engines.textnorm import ABBREVIATIONS, normalize_for_speech
from engines.vi_numbers import decimal_to_words, number_to_words, read_digits

NUMBERS = [
    (0, "không"),
    (1, "một"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (55, "năm mươi lăm"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (104, "một trăm linh bốn"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (1000, "một nghìn"),
    (1005, "một nghìn không trăm linh năm"),
    (1010, "một nghìn không trăm mười"),
    (2026, "hai nghìn không trăm hai mươi sáu"),
    (10_000, "mười nghìn"),
    (1_000_000, "một triệu"),
    (1_000_005, "một triệu không trăm linh năm"),
    (1_250_000, "một triệu hai trăm năm mươi nghìn"),
    (1_005_000, "một triệu không trăm linh năm nghìn"),
    (2_000_000_000, "hai tỷ"),
    (3_000_000_021, "ba tỷ không trăm hai mươi mốt"),
    (1_000_000_000_000, "một nghìn tỷ"),
    (-7, "âm bảy"),
]


@pytest.mark.parametrize(("number", "words"), NUMBERS, ids=[str(n) for n, _ in NUMBERS])
def test_number_to_words(number: int, words: str) -> None:
    assert number_to_words(number) == words


DECIMALS = [
    ("1.000.000", "một triệu"),
    ("1.250.000", "một triệu hai trăm năm mươi nghìn"),
    ("2,5", "hai phẩy năm"),
    ("2,25", "hai phẩy hai mươi lăm"),
    ("2,05", "hai phẩy không năm"),
    ("0,125", "không phẩy một hai năm"),
    ("-3,5", "âm ba phẩy năm"),
]


@pytest.mark.parametrize(("text", "words"), DECIMALS, ids=[t for t, _ in DECIMALS])
def test_decimal_to_words(text: str, words: str) -> None:
    assert decimal_to_words(text) == words


@pytest.mark.parametrize("bad", ["", "12a", "1,2,3", "٣"])
def test_decimal_and_digit_readers_reject_non_numbers(bad: str) -> None:
    with pytest.raises(ValueError):
        decimal_to_words(bad)
    with pytest.raises(ValueError):
        read_digits(bad)


def test_read_digits_says_every_digit() -> None:
    assert read_digits("0294") == "không hai chín bốn"
    assert read_digits("1145") == "một một bốn năm"


# (input, exact spoken output) for the whole normalizer.
CASES = [
    # numbers inside text
    ("Có 10 hộ", "Có mười hộ"),
    ("Có 21 người", "Có hai mươi mốt người"),
    ("trong 24 giờ", "trong hai mươi tư giờ"),
    ("Hỗ trợ 1.000.000 đồng", "Hỗ trợ một triệu đồng"),
    ("Mức 1.250.000 đồng/người", "Mức một triệu hai trăm năm mươi nghìn đồng một người"),
    ("tăng 2,5 lần", "tăng hai phẩy năm lần"),
    ("năm 2026.", "năm hai nghìn không trăm hai mươi sáu."),
    ("Điều 3.2", "Điều ba chấm hai"),
    ("nhiệt độ -2°C", "nhiệt độ âm hai độ xê"),
    ("mã 0294", "mã không hai chín bốn"),
    ("giai đoạn 2021-2025", "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm"),
    ("15/40 hộ", "mười lăm trên bốn mươi hộ"),
    ("Quốc lộ 1A", "Quốc lộ một A"),
    # abbreviations
    ("UBND xã Tân Lập", "Ủy ban nhân dân xã Tân Lập"),
    ("HĐND huyện", "Hội đồng nhân dân huyện"),
    ("MTTQ xã", "Mặt trận Tổ quốc xã"),
    ("UBMTTQVN", "UBMTTQVN"),
    ("UBMTTQ xã", "Ủy ban Mặt trận Tổ quốc xã"),
    ("BCH Quân sự", "Ban chỉ huy Quân sự"),
    ("công tác PCCC", "công tác phòng cháy chữa cháy"),
    ("PCCC&CNCH", "phòng cháy chữa cháy và cứu nạn cứu hộ"),
    ("lực lượng CSGT", "lực lượng cảnh sát giao thông"),
    ("Trường THCS và THPT", "Trường trung học cơ sở và trung học phổ thông"),
    ("thẻ BHYT", "thẻ bảo hiểm y tế"),
    ("Sở GD&ĐT", "Sở giáo dục và đào tạo"),
    ("TP. Cần Thơ", "thành phố Cần Thơ"),
    ("Tp.Vĩnh Long", "thành phố Vĩnh Long"),
    ("TP Cà Mau", "thành phố Cà Mau"),
    ("về TP.", "về thành phố."),
    ("TP.HCM và TPHCM", "thành phố Hồ Chí Minh và thành phố Hồ Chí Minh"),
    ("TX Bình Minh", "thị xã Bình Minh"),
    ("TT. Trà Ôn", "thị trấn Trà Ôn"),
    ("tuyến ĐT 941 và QL91", "tuyến đường tỉnh chín trăm bốn mươi mốt và quốc lộ chín mươi mốt"),
    # document numbers
    ("Kế hoạch số 215/KH-UBND.", "Kế hoạch số hai trăm mười lăm, kế hoạch, Ủy ban nhân dân."),
    ("theo 215/KH-UBND ngày 5/12", "theo số hai trăm mười lăm, kế hoạch, Ủy ban nhân dân, ngày năm tháng mười hai"),
    (
        "Nghị định 45/2026/NĐ-CP",
        "Nghị định số bốn mươi lăm năm hai nghìn không trăm hai mươi sáu, nghị định, Chính phủ",
    ),
    ("Công văn 12/CV-XYZ", "Công văn số mười hai, công văn, XYZ"),
    # dates
    ("5/12/2026", "ngày năm tháng mười hai năm hai nghìn không trăm hai mươi sáu"),
    ("Ngày 05/12/2026", "Ngày năm tháng mười hai năm hai nghìn không trăm hai mươi sáu"),
    ("sáng 5/12", "sáng ngày năm tháng mười hai"),
    ("ngày 05-12-2026", "ngày năm tháng mười hai năm hai nghìn không trăm hai mươi sáu"),
    ("tháng 12/2026", "tháng mười hai năm hai nghìn không trăm hai mươi sáu"),
    ("trong 4/2026", "trong tháng tư năm hai nghìn không trăm hai mươi sáu"),
    ("tháng 4 này", "tháng tư này"),
    ("5-7/12", "từ ngày năm đến ngày bảy tháng mười hai"),
    ("từ ngày 5-7/12/2026", "từ ngày năm đến ngày bảy tháng mười hai năm hai nghìn không trăm hai mươi sáu"),
    ("từ 5 - 7/12", "từ ngày năm đến ngày bảy tháng mười hai"),
    (
        "28/11 - 2/12/2026",
        "từ ngày hai mươi tám tháng mười một đến ngày hai tháng mười hai năm hai nghìn không trăm hai mươi sáu",
    ),
    ("32/13", "ba mươi hai trên mười ba"),
    # times
    ("lúc 7 giờ 30", "lúc bảy giờ ba mươi"),
    ("lúc 7h30", "lúc bảy giờ ba mươi phút"),
    ("lúc 7h", "lúc bảy giờ"),
    ("lúc 7h00", "lúc bảy giờ"),
    ("lúc 07:30", "lúc bảy giờ ba mươi phút"),
    ("13 giờ 30 phút", "mười ba giờ ba mươi phút"),
    ("từ 7h30-11h", "từ bảy giờ ba mươi phút đến mười một giờ"),
    ("7 giờ 05 phút", "bảy giờ năm phút"),
    # units
    ("cách 5 km", "cách năm ki lô mét"),
    ("sâu 2m", "sâu hai mét"),
    ("cao 15 cm", "cao mười lăm xăng ti mét"),
    ("mưa 50-70mm", "mưa năm mươi đến bảy mươi mi li mét"),
    ("nặng 3kg, thêm 500 g", "nặng ba ki lô gam, thêm năm trăm gam"),
    ("2,5 ha lúa", "hai phẩy năm héc ta lúa"),
    ("rộng 100 m2 và 20 m²", "rộng một trăm mét vuông và hai mươi mét vuông"),
    ("bể 3 m3", "bể ba mét khối"),
    ("nhiệt độ 24°C, có nơi 36 oC", "nhiệt độ hai mươi tư độ xê, có nơi ba mươi sáu độ xê"),
    ("đạt 30%", "đạt ba mươi phần trăm"),
    ("giá 50.000đ/kg", "giá năm mươi nghìn đồng một ki lô gam"),
    ("200.000 VNĐ", "hai trăm nghìn đồng"),
    ("tốc độ 60 km/h", "tốc độ sáu mươi ki lô mét trên giờ"),
    ("6 tấn/ha", "sáu tấn trên héc ta"),
    # phone numbers
    ("ĐT: 0294 3870 115", "điện thoại: không hai chín bốn, ba tám bảy không, một một năm"),
    ("SĐT 0912345678", "số điện thoại không chín một hai, ba bốn năm, sáu bảy tám"),
    ("gọi 0294.3870.115.", "gọi không hai chín bốn, ba tám bảy không, một một năm."),
    ("+84 912 345 678", "cộng tám bốn, chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912 345 678 15 hộ", "không chín một hai, ba bốn năm, sáu bảy tám mười lăm hộ"),
    # left alone
    ("TPBank và tp và HTTP", "TPBank và tp và HTTP"),
    ("TT bỏ qua", "TT bỏ qua"),
    ("ông John Smith dùng Zalo", "ông John Smith dùng Zalo"),
    ("virus H5N1", "virus H5N1"),
    ("UBNDX", "UBNDX"),
    ("ubnd", "ubnd"),
    ("ĐT", "ĐT"),
]


@pytest.mark.parametrize(("text", "spoken"), CASES, ids=[t for t, _ in CASES])
def test_normalize_for_speech(text: str, spoken: str) -> None:
    assert normalize_for_speech(text) == spoken


@pytest.mark.parametrize(("text", "spoken"), CASES, ids=[t for t, _ in CASES])
def test_second_run_changes_nothing(text: str, spoken: str) -> None:
    assert normalize_for_speech(normalize_for_speech(text)) == spoken


@pytest.mark.parametrize("abbreviation", sorted(ABBREVIATIONS))
def test_every_abbreviation_expands_as_a_whole_word_only(abbreviation: str) -> None:
    assert normalize_for_speech(f"({abbreviation})") == f"({ABBREVIATIONS[abbreviation]})"
    # Glued inside a longer word it is not an abbreviation ("&" alone still reads "và", so skip it).
    if "&" not in abbreviation:
        assert normalize_for_speech(f"X{abbreviation}X") == f"X{abbreviation}X"
        assert normalize_for_speech(f"{abbreviation}x") == f"{abbreviation}x"


ANNOUNCEMENT = (
    "Thực hiện Kế hoạch số 215/KH-UBND ngày 05/12/2026 của UBND xã về PCCC, "
    "từ 7h30 đến 11h ngày 10/12, tại Trường THCS xã sẽ tập huấn cho 120 hộ.\n"
    "Dự báo mưa 50-70mm, nhiệt độ 24°C; hỗ trợ 1.250.000 đồng/hộ.\n"
    "Mọi thắc mắc liên hệ ĐT: 0294 3870 115."
)
SPOKEN = (
    "Thực hiện Kế hoạch số hai trăm mười lăm, kế hoạch, Ủy ban nhân dân, ngày năm tháng mười hai "
    "năm hai nghìn không trăm hai mươi sáu của Ủy ban nhân dân xã về phòng cháy chữa cháy, "
    "từ bảy giờ ba mươi phút đến mười một giờ ngày mười tháng mười hai, tại Trường trung học cơ sở xã "
    "sẽ tập huấn cho một trăm hai mươi hộ.\n"
    "Dự báo mưa năm mươi đến bảy mươi mi li mét, nhiệt độ hai mươi tư độ xê; "
    "hỗ trợ một triệu hai trăm năm mươi nghìn đồng một hộ.\n"
    "Mọi thắc mắc liên hệ điện thoại: không hai chín bốn, ba tám bảy không, một một năm."
)


def test_realistic_announcement_reads_in_full() -> None:
    spoken = normalize_for_speech(ANNOUNCEMENT)
    assert spoken == SPOKEN
    assert not any(ch.isdigit() for ch in spoken)
    assert normalize_for_speech(spoken) == spoken


def test_punctuation_and_line_breaks_survive() -> None:
    spoken = normalize_for_speech(ANNOUNCEMENT)
    # Pause marks are those followed by a space or the end; "1.250.000" holds separators, not pauses.
    pause = re.compile(r"[.,;:](?=\s|$)")
    for mark in (".", ",", ";", ":"):
        assert pause.findall(spoken).count(mark) >= pause.findall(ANNOUNCEMENT).count(mark), mark
    assert spoken.count("\n") == ANNOUNCEMENT.count("\n")


def test_non_ascii_digits_are_not_read_as_numbers() -> None:
    assert normalize_for_speech("số ٣ và x²") == "số ٣ và x²"


def test_decomposed_input_comes_out_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Ủy ban HĐND xã họp ngày 5/12")
    spoken = normalize_for_speech(decomposed)
    assert spoken == "Ủy ban Hội đồng nhân dân xã họp ngày năm tháng mười hai"
    assert unicodedata.is_normalized("NFC", spoken)


def test_plain_text_is_returned_unchanged() -> None:
    text = "Đề nghị bà con chủ động phòng tránh, không ra khơi khi có bão."
    assert normalize_for_speech(text) == text
