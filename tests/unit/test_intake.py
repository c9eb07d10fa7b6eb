"""Intake cleaning: which lines of a pasted portal page go, why, and what title and date are kept."""

from datetime import date

import pytest

from domain.errors import InvalidInput
from domain.intake import clean_intake, dates_in, parse_rules, plausible_title, suggest_title
from prompts import load_data

RULES = parse_rules(load_data("intake", "rules-v3.tsv")[1], version="intake/rules-v3")

PAGE = """English | Khmer
Trang chủ | Giới thiệu | Tin tức | Văn bản | Liên hệ
Đường dây nóng: 0294 3862 115
Xem cỡ chữ A+ A-
Trang chủ > Tin tức > Y tế
UBND xã Tân Lập tổ chức tiêm vắc xin sởi cho trẻ em
Thứ Hai, 07/12/2026 08:30
Ủy ban nhân dân xã Tân Lập thông báo lịch tiêm vắc xin sởi cho trẻ từ 1 đến 5 tuổi
vào sáng thứ Bảy, ngày 12/12/2026, tại Trạm Y tế xã.
Ảnh minh họa
tiem-chung-2026.jpg
Thời gian tiêm từ 7 giờ 30 đến 11 giờ.
**
Đề nghị các gia đình đưa trẻ đến đúng giờ, mang theo sổ tiêm chủng.
/.
Thu Hà - Trung tâm VHTT xã
Chia sẻ | In bài | Về đầu trang
Tin liên quan
Huyện tổ chức hội nghị tổng kết công tác tiêm chủng năm 2025
Thăm dò ý kiến
Bạn đánh giá thế nào về cổng thông tin điện tử của xã?
Rất tốt
Bình thường
Biểu quyết
Thống kê truy cập
Đang online: 12
Tổng lượt truy cập: 1.234.567"""


def test_portal_page_keeps_only_the_article() -> None:
    result = clean_intake(PAGE, RULES)
    assert result.text == (
        "UBND xã Tân Lập tổ chức tiêm vắc xin sởi cho trẻ em\n"
        "Ủy ban nhân dân xã Tân Lập thông báo lịch tiêm vắc xin sởi cho trẻ từ 1 đến 5 tuổi\n"
        "vào sáng thứ Bảy, ngày 12/12/2026, tại Trạm Y tế xã.\n"
        "Thời gian tiêm từ 7 giờ 30 đến 11 giờ.\n"
        "Đề nghị các gia đình đưa trẻ đến đúng giờ, mang theo sổ tiêm chủng."
    )
    assert [r.number for r in result.removed] == [1, 2, 3, 4, 5, 7, 10, 11, 13, 15, 16, 17, 18, 19, 20, 21, 22,
                                                    23, 24, 25, 26, 27]
    by_line = {r.number: r.rule_id for r in result.removed}
    assert by_line[1] == "lang-switch"
    assert by_line[4] == "font-size"
    assert by_line[7] == "date-weekday"
    assert by_line[10] == "img-caption"
    assert by_line[11] == "img-file"
    assert by_line[16] == "byline-name"
    assert by_line[19] == "rel-block"
    assert by_line[22] == "poll-block"
    assert by_line[26] == "cnt-line"
    assert result.article_date == date(2026, 12, 7)
    assert result.title == "UBND xã Tân Lập tổ chức tiêm vắc xin sởi cho trẻ em"
    assert result.body.startswith("Ủy ban nhân dân xã Tân Lập thông báo")
    assert result.content_lines == 27
    assert result.removed_share == pytest.approx(22 / 27)
    assert result.rules_version == "intake/rules-v3"


def test_the_was_this_helpful_widget_goes_and_prose_about_helpfulness_stays() -> None:
    text = """Lịch cắt điện tuần này trên địa bàn xã Châu Thành
Điện lực cắt điện từ 7 giờ đến 11 giờ ngày 12/12/2026 để bảo trì lưới điện.
Bạn thấy bài viết này thế nào? Hữu ích (12) Không hữu ích (3)
Hữu ích (12) Không hữu ích (3)
Bài viết có hữu ích cho bạn không?
Đánh giá bài viết:
★★★★☆ (4,5/5)
Thông tin hữu ích cho bà con nông dân trong mùa khô."""
    result = clean_intake(text, RULES)
    assert [(r.number, r.rule_id) for r in result.removed] == [
        (3, "poll-rating"), (4, "poll-rating"), (5, "poll-rating"), (6, "poll-rating"), (7, "poll-rating")]
    assert result.body == ("Điện lực cắt điện từ 7 giờ đến 11 giờ ngày 12/12/2026 để bảo trì lưới điện.\n"
                           "Thông tin hữu ích cho bà con nông dân trong mùa khô.")


def test_report_names_line_and_reason_in_both_languages() -> None:
    result = clean_intake("Xem cỡ chữ A+ A-\nNgười dân cần chủ động phòng chống dịch bệnh trong mùa mưa.", RULES)
    assert result.report() == ("1: Xem cỡ chữ A+ A-  [Công cụ đổi cỡ chữ]",)
    assert result.report("en") == ("1: Xem cỡ chữ A+ A-  [font-size widget]",)


def test_kept_line_survives_its_rule() -> None:
    text = "Thông báo lịch cắt điện khu vực thôn Đông\nNguyễn Văn An\nLịch cắt điện từ 7 giờ đến 11 giờ."
    assert "Nguyễn Văn An" not in clean_intake(text, RULES).text
    assert clean_intake(text, RULES, keep=frozenset({2})).text.split("\n")[1] == "Nguyễn Văn An"


def test_list_after_a_colon_is_not_a_menu() -> None:
    text = ("Lịch tiêm vắc xin tại các thôn trong xã\nĐợt tiêm gồm các thôn:\nThôn Bình An\nThôn Bình Phú\n"
            "Thôn Tân Hòa\nTrang chủ\nGiới thiệu thêm\nTin tức khác\nLiên kết web")
    result = clean_intake(text, RULES)
    assert result.text.split("\n") == ["Lịch tiêm vắc xin tại các thôn trong xã", "Đợt tiêm gồm các thôn:",
                                       "Thôn Bình An", "Thôn Bình Phú", "Thôn Tân Hòa"]
    assert {r.rule_id for r in result.removed} == {"menu-item", "menu-run", "rel-block"}


def test_content_sentences_that_resemble_junk_are_kept() -> None:
    text = "\n".join((
        "Thông báo về đường dây nóng phòng chống thiên tai của xã",
        "Đường dây nóng của Ban chỉ huy phòng chống thiên tai xã là 0294 3862 115, trực 24 giờ mỗi ngày.",
        "Theo kế hoạch, các hộ dân ven sông phải di dời trước 17 giờ ngày 8/12/2026.",
        "Hình thức thông tin: loa truyền thanh và tin nhắn.",
    ))
    result = clean_intake(text, RULES)
    assert result.removed == ()
    assert result.text == text


def test_official_letterhead_and_signature_go_and_the_document_date_is_kept() -> None:
    text = "\n".join((
        "ỦY BAN NHÂN DÂN", "XÃ CHÂU THÀNH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        "Số: 125/TB-UBND", "Châu Thành, ngày 03 tháng 12 năm 2026", "THÔNG BÁO",
        "Về việc tạm ngừng cấp nước sinh hoạt để sửa chữa đường ống",
        "Công ty cấp nước tạm ngừng cấp nước tại ấp Phú Hòa từ 8 giờ đến 16 giờ ngày 10/12/2026.",
        "Nơi nhận:", "- Như trên;", "- Lưu: VT.", "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Trần Văn Bình",
    ))
    result = clean_intake(text, RULES)
    assert result.title == "Thông báo về việc tạm ngừng cấp nước sinh hoạt để sửa chữa đường ống"
    assert result.body == "Công ty cấp nước tạm ngừng cấp nước tại ấp Phú Hòa từ 8 giờ đến 16 giờ ngày 10/12/2026."
    assert result.article_date == date(2026, 12, 3)
    assert len(result.removed) == 12


def test_all_boilerplate_leaves_nothing() -> None:
    result = clean_intake("English | Khmer\nXem cỡ chữ A+ A-\n**\nChia sẻ | In bài | Về đầu trang", RULES)
    assert result.nothing_left
    assert result.title == "" and result.title_problem == "nothing left"
    assert len(result.removed) == 4


@pytest.mark.parametrize(("line", "problem"), [
    ("KẾ HOẠCH", "only a document type"),
    ("Tin tức", "only a document type"),
    ("Lịch tiêm", "too short"),
    ("Lịch cắt điện", ""),
    ("Danh sách các hộ được hỗ trợ gồm:", "an introduction to a list"),
    ("Lũ trên sông Cửu Long đang lên nhanh", ""),
    ("THÔNG BÁO LỊCH TIÊM CHỦNG THÁNG 12", ""),
])
def test_plausible_title(line: str, problem: str) -> None:
    assert plausible_title(line) == problem


def test_doc_type_joined_with_subject_and_long_sentence_is_no_title() -> None:
    assert suggest_title("KẾ HOẠCH\nTổ chức tiêm vắc xin phòng sởi năm 2026\nNội dung.")[0] == \
        "Kế hoạch tổ chức tiêm vắc xin phòng sởi năm 2026"
    assert suggest_title("KẾ HOẠCH\nTỔ CHỨC TIÊM VẮC XIN PHÒNG SỞI\nNội dung.")[0] == \
        "KẾ HOẠCH TỔ CHỨC TIÊM VẮC XIN PHÒNG SỞI"
    sentence = ("Ủy ban nhân dân xã thông báo đến toàn thể bà con nhân dân về việc tổ chức tiêm vắc xin phòng bệnh "
                "sởi cho trẻ em từ một đến năm tuổi tại trạm y tế xã trong tuần tới.")
    title, body, problem = suggest_title(sentence)
    assert (title, body) == ("", sentence)
    assert problem.startswith("the first line is not a headline (a sentence of the text)")


def test_doc_type_over_a_single_sentence_asks_for_a_title_instead_of_emptying_the_body() -> None:
    text = "Thông báo\nĐiện lực thông báo cắt điện từ 7 giờ đến 11 giờ."
    assert suggest_title(text) == ("", text, "the first line is not a headline (only a document type): 'Thông báo'")


def test_dates_in_text() -> None:
    assert dates_in("Quyết định ngày 5 tháng 3 năm 2011; họp ngày 31/12/2026; sai 31/02/2026.") == (
        date(2011, 3, 5), date(2026, 12, 31))


def test_malformed_rules_are_refused() -> None:
    with pytest.raises(InvalidInput, match="expected 7"):
        parse_rules("x\tmenu\tline\ti\t-\tabc", version="t")
    with pytest.raises(InvalidInput, match="unknown scope 'page'"):
        parse_rules("x\tmenu\tpage\ti\t-\tabc\tgiải thích | why", version="t")
    with pytest.raises(InvalidInput, match="bad pattern"):
        parse_rules("x\tmenu\tline\ti\t-\t(abc\tgiải thích | why", version="t")


@pytest.mark.parametrize(("line", "tag", "rest"), [
    ("(Cổng TTĐT) - Theo Trung tâm Dự báo khí tượng thủy văn quốc gia, bão số 15 đang mạnh lên.",
     "(Cổng TTĐT) -", "Theo Trung tâm Dự báo khí tượng thủy văn quốc gia, bão số 15 đang mạnh lên."),
    ("Vĩnh Long, 7/12 (TTXVN) – sáng nay, tỉnh tổ chức diễn tập phòng chống thiên tai.",
     "Vĩnh Long, 7/12 (TTXVN) –", "Sáng nay, tỉnh tổ chức diễn tập phòng chống thiên tai."),
    ("VOV.VN - Chiều 7/12, Ủy ban nhân dân tỉnh họp bàn phương án ứng phó bão.",
     "VOV.VN -", "Chiều 7/12, Ủy ban nhân dân tỉnh họp bàn phương án ứng phó bão."),
    ("Chinhphu.vn - Thủ tướng yêu cầu các địa phương chủ động sơ tán dân khỏi vùng nguy hiểm.",
     "Chinhphu.vn -", "Thủ tướng yêu cầu các địa phương chủ động sơ tán dân khỏi vùng nguy hiểm."),
])
def test_a_source_tag_at_the_start_of_the_lead_goes_and_the_sentence_stays(line: str, tag: str, rest: str) -> None:
    result = clean_intake(f"Tỉnh chủ động ứng phó với bão số 15\n{line}", RULES)
    assert result.body == rest
    assert [(r.number, r.text, r.partial) for r in result.removed] == [(2, tag, True)]
    assert result.lines_removed == 0 and result.removed_share == 0.0
    assert result.report("en") == (f"2: {tag}  [news source tag at the start of the lead]",)
    assert clean_intake(f"Tỉnh chủ động ứng phó với bão số 15\n{line}", RULES, keep=frozenset({2})).body == line


@pytest.mark.parametrize("line", [
    "COVID - 19 vẫn diễn biến phức tạp trên địa bàn xã trong tháng qua.",
    "(1) - Các hộ dân ven sông phải di dời trước 17 giờ ngày 8/12/2026.",
    "Bão số 15 (bão Man-yi) - cơn bão mạnh nhất năm - đang tiến vào đất liền các tỉnh Nam Trung Bộ.",
    "(Cổng TTĐT) - Xem thêm",
])
def test_text_that_only_looks_like_a_source_tag_is_kept(line: str) -> None:
    result = clean_intake(f"Tỉnh chủ động ứng phó với bão số 15\n{line}", RULES)
    assert result.body == line


@pytest.mark.parametrize("line", ["Cổng thông tin điện tử xã Châu Thành", "CỔNG THÔNG TIN ĐIỆN TỬ TỈNH VĨNH LONG",
                                  "Trang thông tin điện tử UBND xã Đa Lộc", "Cổng TTĐT tỉnh Gia Lai"])
def test_the_portals_own_name_goes_and_is_never_the_title(line: str) -> None:
    text = f"{line}\nThông báo lịch cắt điện ngày 12/12/2026 trên địa bàn xã\nĐiện lực thông báo tạm ngừng cấp điện."
    result = clean_intake(text, RULES)
    assert [(r.number, r.rule_id) for r in result.removed] == [(1, "site-name")]
    assert result.title == "Thông báo lịch cắt điện ngày 12/12/2026 trên địa bàn xã"


def test_a_headline_about_the_portal_is_kept() -> None:
    text = ("Cổng thông tin điện tử xã Châu Thành chính thức hoạt động từ ngày 1/12\n"
            "Từ ngày 1/12/2026, người dân tra cứu thủ tục hành chính trên cổng thông tin của xã.")
    result = clean_intake(text, RULES)
    assert result.removed == ()
    assert result.title == "Cổng thông tin điện tử xã Châu Thành chính thức hoạt động từ ngày 1/12"
