"""Vietnamese text normalization before TTS: exact spoken forms for numbers, dates, times and more."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from domain.errors import InvalidInput
from engines.speech_acronyms import load_acronyms
from engines.textnorm import ABBREVIATIONS, estimate_spoken_seconds, normalize_for_speech
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
    # per mille (salinity), service numbers, alert levels
    ("độ mặn 12‰", "độ mặn mười hai phần nghìn"),
    ("gọi 1900 1234", "gọi một chín không không, một hai ba bốn"),
    ("gọi 1800.599.920", "gọi một tám không không, năm chín chín, chín hai không"),
    ("số 18001091", "số một tám không không, một không chín một"),
    ("năm 1900 có 1234 hộ", "năm một nghìn chín trăm có một nghìn hai trăm ba mươi tư hộ"),
    ("từ 1800 đến 1900 người", "từ một nghìn tám trăm đến một nghìn chín trăm người"),
    ("vượt báo động III", "vượt báo động ba"),
    ("rủi ro thiên tai cấp độ II", "rủi ro thiên tai cấp độ hai"),
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
    # acronyms from prompts/speech/acronyms.tsv
    ("Sở CNTT-VT tỉnh", "Sở công nghệ thông tin - viễn thông tỉnh"),
    ("ngành CNTT", "ngành công nghệ thông tin"),
    ("Bộ TT&TT", "Bộ Thông tin và Truyền thông"),
    ("BTTTT và STTTT", "Bộ Thông tin và Truyền thông và Sở Thông tin và Truyền thông"),
    ("Sở KH&CN", "Sở Khoa học và Công nghệ"),
    ("theo QĐ-TTg", "theo quyết định của Thủ tướng Chính phủ"),
    ("Quyết định 123/QĐ-TTg", "Quyết định số một trăm hai mươi ba, quyết định, Thủ tướng"),
    (
        "Thông tư 01/2026/TT-BTTTT",
        "Thông tư số một năm hai nghìn không trăm hai mươi sáu, thông tư, Bộ Thông tin và Truyền thông",
    ),
    ("Đoàn TNCS HCM", "Đoàn Thanh niên Cộng sản Hồ Chí Minh"),
    # clock times with seconds
    ("lúc 16:58:00", "lúc mười sáu giờ năm mươi tám phút"),
    ("lúc 7:05:30", "lúc bảy giờ năm phút ba mươi giây"),
    ("07:00:15", "bảy giờ không phút mười lăm giây"),
    # thousands separators
    ("có 413,713 lượt truy cập", "có bốn trăm mười ba nghìn bảy trăm mười ba lượt truy cập"),
    ("có 413.713 lượt", "có bốn trăm mười ba nghìn bảy trăm mười ba lượt"),
    ("1,234,567 đồng", "một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy đồng"),
    ("1,125 tỷ đồng", "một phẩy một hai năm tỷ đồng"),
    ("2,5 tấn", "hai phẩy năm tấn"),
    # mobile generations
    ("mạng 3G/4G", "mạng ba G, bốn G"),
    ("sóng 5G", "sóng năm G"),
    # ranges and ordinals
    ("5-7 ngày", "năm đến bảy ngày"),
    ("từ 7h-11h", "từ bảy giờ đến mười một giờ"),
    ("từ 5 – 7 ngày", "từ năm đến bảy ngày"),
    ("Thứ 2 - Thứ 6", "Thứ hai đến thứ sáu"),
    ("từ thứ 2-CN", "từ thứ hai đến chủ nhật"),
    ("sáng thứ 4", "sáng thứ tư"),
    ("lần thứ 1", "lần thứ nhất"),
    # Roman numerals in headings and periods
    ("Phần II", "Phần hai"),
    ("Quý III năm 2026", "Quý ba năm hai nghìn không trăm hai mươi sáu"),
    ("trong quý I/2026", "trong quý một năm hai nghìn không trăm hai mươi sáu"),
    ("Đại hội XIII", "Đại hội mười ba"),
    ("Quốc hội khóa XV", "Quốc hội khóa mười lăm"),
    ("kỳ họp thứ IX", "kỳ họp thứ chín"),
    ("lần thứ IV", "lần thứ tư"),
    ("Huân chương hạng II", "Huân chương hạng nhì"),
    ("thế kỷ XXI", "thế kỷ hai mươi mốt"),
    ("I. Mục tiêu\nII. Nội dung", "Một. Mục tiêu\nHai. Nội dung"),
    ("bằng lái hạng C", "bằng lái hạng C"),
    ("Vitamin C và nhóm máu AB", "Vitamin C và nhóm máu AB"),
    # web and e-mail addresses: the host, spelled
    ("Xem tại https://travinh.gov.vn/tin-tuc/123.html.", "Xem tại travinh chấm gov chấm vn."),
    ("www.moh.gov.vn hoặc dichvucong.gov.vn", "moh chấm gov chấm vn hoặc dichvucong chấm gov chấm vn"),
    ("thư: ubnd.xa@travinh.gov.vn", "thư: ubnd chấm xa a còng travinh chấm gov chấm vn"),
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
    # Glued inside a longer word it is not an abbreviation ("&" alone still reads "và", and the part of
    # "CNTT-VT" before the hyphen is an acronym of its own, so skip those).
    if "&" not in abbreviation and "-" not in abbreviation:
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


def test_brief_acronyms_read_as_words_from_the_shipped_list() -> None:
    shipped = load_acronyms()
    expected = {
        "UBND": "Ủy ban nhân dân",
        "HĐND": "Hội đồng nhân dân",
        "CNTT": "công nghệ thông tin",
        "CNTT-VT": "công nghệ thông tin - viễn thông",
        "BTTTT": "Bộ Thông tin và Truyền thông",
        "TT&TT": "Thông tin và Truyền thông",
        "KH&CN": "Khoa học và Công nghệ",
        "QĐ-TTg": "quyết định của Thủ tướng Chính phủ",
        "MTTQ": "Mặt trận Tổ quốc",
        "BHYT": "bảo hiểm y tế",
        "THCS": "trung học cơ sở",
        "THPT": "trung học phổ thông",
    }
    assert {k: shipped.words[k] for k in expected} == expected
    assert shipped.doc_codes["KH"] == "kế hoạch" and "KH" not in shipped.words  # codes only in numbers


def test_installation_file_adds_overrides_and_removes(tmp_path: Path) -> None:
    extra = tmp_path / "acronyms.tsv"
    extra.write_text(
        "# an installation's own list\n"
        "HTXNN\thợp tác xã nông nghiệp\tword\n"
        "UBND\tỦy ban nhân dân xã\tword\n"
        "DN\t\tword\n"
        "SVHTT\tSở Văn hóa và Thể thao\tdoc\n",
        encoding="utf-8",
    )
    acronyms = load_acronyms(extra)
    text = "UBND và HTXNN hỗ trợ DN theo 12/KH-SVHTT"
    assert normalize_for_speech(text, acronyms) == (
        "Ủy ban nhân dân xã và hợp tác xã nông nghiệp hỗ trợ DN theo số mười hai, kế hoạch, Sở Văn hóa và Thể thao"
    )
    assert normalize_for_speech(text) == (
        "Ủy ban nhân dân và HTXNN hỗ trợ doanh nghiệp theo số mười hai, kế hoạch, SVHTT"
    )
    assert acronyms.sha256 != load_acronyms().sha256


def test_settings_path_extends_the_default_dictionary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from settings import get_settings

    extra = tmp_path / "acronyms.tsv"
    extra.write_text("HTXNN\thợp tác xã nông nghiệp\tword\n", encoding="utf-8")
    monkeypatch.setenv("BANTIN_SPEECH_ACRONYMS", str(extra))
    get_settings.cache_clear()
    try:
        assert normalize_for_speech("HTXNN và UBND") == "hợp tác xã nông nghiệp và Ủy ban nhân dân"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("UBND\tỦy ban nhân dân", "line 2: expected written<TAB>spoken<TAB>where"),
        ("UBND\tỦy ban nhân dân\teverywhere", "line 2: where must be word or doc"),
        ("U B\tỦy ban\tword", "line 2: 'U B' is not an acronym"),
    ],
)
def test_malformed_installation_file_is_refused_with_its_line(tmp_path: Path, line: str, message: str) -> None:
    extra = tmp_path / "acronyms.tsv"
    extra.write_text(f"# comment\n{line}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=message):
        load_acronyms(extra)


def test_spoken_length_is_estimated_on_the_words_the_voice_says() -> None:
    # Written: 4 tokens. Spoken: "Gọi không hai chín bốn, ba tám bảy không, một một năm." is 12 syllables
    # at espeak-ng's 3.85 per second, 0.68 s for the one sentence end and 0.31 s for each of the 2 commas.
    assert estimate_spoken_seconds("Gọi 0294 3870 115.") == pytest.approx(12 / 3.85 + 0.68 + 2 * 0.31)
    assert estimate_spoken_seconds("UBND xã.") == pytest.approx(5 / 3.85 + 0.68)  # "Ủy ban nhân dân xã."
