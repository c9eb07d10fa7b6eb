"""Faithfulness check: extractive summaries pass, hallucinated facts are caught with the right kind."""

import dataclasses
import textwrap
import unicodedata

import pytest

from domain.faithfulness import Fact, FaithfulnessReport, check_faithfulness, lost_numbers

SENTENCES = (
    "Thực hiện Kế hoạch số 215/KH-UBND ngày 20/11/2026 của Ủy ban nhân dân huyện Châu Thành, "
    "Ủy ban nhân dân xã Đa Lộc tổ chức tiêm bổ sung vắc xin sởi cho trẻ em từ 1 đến 5 tuổi.",
    "Thời gian tiêm từ ngày 5 tháng 12 năm 2026 đến hết ngày 7 tháng 12 năm 2026.",
    "Buổi sáng bắt đầu từ 7 giờ 30, buổi chiều từ 13 giờ 30 đến 16 giờ 30.",
    "Địa điểm tiêm là Trạm Y tế xã Đa Lộc và điểm tiêm tại ấp Hương Phụ A.",
    "Toàn xã có 1.250 trẻ thuộc diện tiêm; đợt trước đạt tỷ lệ 98,5%.",
    "Mỗi trẻ được tiêm 1 liều 0,5 ml, hoàn toàn miễn phí.",
    "Cha mẹ mang theo sổ tiêm chủng và thẻ bảo hiểm y tế của trẻ.",
    "Sau khi tiêm, trẻ cần được theo dõi tại điểm tiêm 30 phút.",
    "Trạm trưởng Nguyễn Văn An đề nghị bà con đưa trẻ đi tiêm đầy đủ, đúng lịch.",
    "Mọi thắc mắc xin liên hệ số điện thoại 0294 3870 115.",
)
SOURCE = "\n".join(SENTENCES)
OPENING = "Kính thưa bà con nhân dân! Đài Truyền thanh xã Đa Lộc xin thông báo:"
CLOSING = "Trân trọng thông báo!"
TITLE = "Thông báo số 45/TB-UBND về lịch tiêm vắc xin sởi"


def board(text: str, lines: int, width: int = 48) -> str:
    """Wrap like engines/summarize.py's board: hard line breaks, a '…' cut when it does not fit."""
    wrapped = textwrap.wrap(text, width=width, break_on_hyphens=False)
    if len(wrapped) <= lines:
        return "\n".join(wrapped)
    kept = wrapped[:lines]
    kept[-1] = (kept[-1] if len(kept[-1]) < width else kept[-1][: width - 1].rstrip()) + "…"
    return "\n".join(kept)


def kinds(report: FaithfulnessReport) -> set[tuple[str, str]]:
    return {(fact.kind, fact.text) for fact in report.missing}


# --- extractive summaries: sentences copied from the source never raise an alarm ----------------------

@pytest.mark.parametrize("index", range(len(SENTENCES)))
def test_each_source_sentence_alone_is_faithful(index: int) -> None:
    report = check_faithfulness(SENTENCES[index], SOURCE)
    assert report.ok, report.reason()
    assert report.missing == ()


@pytest.mark.parametrize("picked", [(0, 1, 2), (0, 3, 9), (1, 2, 3, 9), (0, 4, 5, 8), tuple(range(10))])
def test_extractive_scripts_pass(picked: tuple[int, ...]) -> None:
    script = " ".join(SENTENCES[i] for i in picked)
    assert check_faithfulness(script, SOURCE).ok


@pytest.mark.parametrize("lines,width", [(3, 48), (4, 48), (6, 48), (2, 30), (5, 20)])
def test_wrapped_and_cut_board_texts_pass(lines: int, width: int) -> None:
    # Cuts with "…" may end mid-word or mid-number ("0294 3870 1…"), which is still no hallucination.
    text = board(" ".join(SENTENCES[i] for i in (3, 9)), lines, width)
    report = check_faithfulness(text, SOURCE)
    assert report.ok, (text, report.reason())


@pytest.mark.parametrize("summary", ["Liên hệ số điện thoại 0294 3870 1…", "Điểm tiêm tại ấp Hương Ph...",
                                     "Kế hoạch số 215/KH-UB…", "Kế hoạch ngày 20/11/20…"])
def test_fact_cut_by_the_ellipsis_passes_when_the_source_continues_it(summary: str) -> None:
    assert check_faithfulness(summary, SOURCE).ok


def test_cut_number_without_ellipsis_is_not_excused() -> None:
    # The same prefix is a wrong phone number when nothing marks the text as cut.
    report = check_faithfulness("Liên hệ 0294 3870 11.", SOURCE)
    assert kinds(report) == {("phone", "0294 3870 11")}


# --- hallucinations fail with the right kind -----------------------------------------------------------

@pytest.mark.parametrize("summary,kind,text", [
    ("Toàn xã có 1.350 trẻ thuộc diện tiêm.", "number", "1.350"),
    ("Đợt trước đạt tỷ lệ 95%.", "number", "95%"),
    ("Mỗi trẻ được tiêm 2 liều.", "number", "2"),
    ("Mỗi trẻ được tiêm 1 liều 0,7 ml.", "number", "0,7"),
    ("Thực hiện Kế hoạch số 216/KH-UBND của huyện.", "number", "216/KH-UBND"),
    ("Thời gian tiêm từ ngày 6/12.", "date", "6/12"),
    ("Thời gian tiêm từ ngày 6 tháng 12 năm 2026.", "date", "ngày 6 tháng 12 năm 2026"),
    ("Tiêm vào ngày 5/1/2026.", "date", "5/1/2026"),
    ("Tiêm trong ngày 5 và 8/12.", "date", "5 và 8/12"),
    ("Buổi sáng bắt đầu từ 8 giờ 30.", "time", "8 giờ 30"),
    ("Buổi sáng bắt đầu từ 7h45.", "time", "7h45"),
    ("Buổi chiều kết thúc lúc 17:30.", "time", "17:30"),
    ("Buổi sáng bắt đầu từ 7 giờ 30 sáng, kéo dài đến 2 giờ sáng.", "time", "2 giờ"),
    ("Liên hệ số điện thoại 0294 3870 116.", "phone", "0294 3870 116"),
    ("Liên hệ số điện thoại 0294 3807 115.", "phone", "0294 3807 115"),
    ("Liên hệ số 0913 456 789 để được hỗ trợ.", "phone", "0913 456 789"),
    ("Địa điểm tiêm là Trạm Y tế xã Mỹ Chánh.", "name", "Mỹ Chánh"),
    ("Ủy ban nhân dân huyện Chợ Gạo tổ chức tiêm.", "name", "Chợ Gạo"),
    ("Trạm trưởng Nguyễn Văn Bình đề nghị bà con đưa trẻ đi tiêm.", "name", "Nguyễn Văn Bình"),
    ("Lê Văn An đề nghị bà con đưa trẻ đi tiêm.", "name", "Lê Văn An"),
    ("Trẻ có phản ứng được chuyển đến Bệnh viện huyện.", "name", "Bệnh"),
    ("Điểm tiêm tại ấp Hương Phụ B.", "name", "Hương Phụ B"),
])
def test_hallucinated_fact_fails_with_its_kind(summary: str, kind: str, text: str) -> None:
    report = check_faithfulness(summary, SOURCE)
    assert not report.ok
    assert (kind, text) in kinds(report), report.missing
    assert text in report.reason()


def test_every_unsupported_fact_is_listed_once_in_order() -> None:
    summary = "Xã Mỹ Chánh tiêm ngày 6/12 lúc 8h. Xã Mỹ Chánh có 1.300 trẻ, gọi 0294 3870 116."
    report = check_faithfulness(summary, SOURCE)
    assert report.missing == (Fact("name", "Xã Mỹ Chánh"), Fact("date", "6/12"), Fact("time", "8h"),
                              Fact("number", "1.300"), Fact("phone", "0294 3870 116"))


# --- format variants of supported facts pass -------------------------------------------------------------

@pytest.mark.parametrize("summary", [
    "Tiêm từ 05/12 đến 07/12.",
    "Tiêm từ ngày 5/12/2026 đến ngày 7/12/2026.",
    "Tiêm từ 05-12-2026 đến 07.12.2026.",
    "Tiêm trong tháng 12/2026.",
    "Tiêm từ 5 - 7/12/26.",
    "Buổi sáng từ 7h30, buổi chiều từ 13h30 đến 16h30.",
    "Buổi sáng từ 07:30, buổi chiều 1 giờ 30 chiều.",
    "Buổi sáng bắt đầu lúc 7 giờ 30 phút.",
    "Toàn xã có 1250 trẻ, tỷ lệ 98,50 %.",
    "Liên hệ 0294.3870.115 hoặc +84 294 3870 115.",
    "Kế hoạch 215/kh-ubnd ngày 20/11/2026.",
    "Tại xã ĐA LỘC, huyện châu thành, trẻ được tiêm.",
    "Thông báo của Uỷ ban nhân dân xã Đa   Lộc và Trạm Y tế xã\nĐa Lộc.",  # old-style tone placement
    unicodedata.normalize("NFD", SENTENCES[3]),  # decomposed text, as pasted from some editors
    "Tại Đa Lộc có điểm tiêm ở Hương Phụ A, do Nguyễn Văn An phụ trách.",
])
def test_format_variants_of_source_facts_pass(summary: str) -> None:
    report = check_faithfulness(summary, SOURCE)
    assert report.ok, report.reason()


@pytest.mark.parametrize("source,summary,ok", [
    ("Tiêm từ ngày 5 đến ngày 7 tháng 12.", "Tiêm đến 7/12.", True),
    ("Tiêm từ ngày 5 đến ngày 7 tháng 12.", "Tiêm đến 8/12.", False),
    ("Tiêm ngày 5/12. Năm 2026 xã tiêm hai đợt.", "Tiêm ngày 5/12/2026, 2 đợt.", True),
    ("Tiêm ngày 5/12. Năm 2026 xã tiêm hai đợt.", "Tiêm ngày 5/12/2025, 2 đợt.", False),
    ("Hỗ trợ 1.500.000 đồng mỗi hộ.", "Hỗ trợ 1,5 triệu đồng mỗi hộ.", True),
    ("Hỗ trợ 1.500.000 đồng mỗi hộ.", "Hỗ trợ 2,5 triệu đồng mỗi hộ.", False),
    ("Họp từ 7 đến 11 giờ tại hội trường.", "Họp lúc 7 giờ.", True),
    ("Họp từ 7 đến 11 giờ tại hội trường.", "Họp lúc 9 giờ.", False),
    ("Họp lúc 2 giờ chiều.", "Họp lúc 14h.", True),
    ("Họp lúc 7 giờ.", "Họp lúc 19:00.", True),
    ("Họp lúc 7 giờ sáng.", "Họp lúc 19:00.", False),
    ("Liên hệ (0294) 3870 115.", "Liên hệ 0294 3870 115.", True),
])
def test_reformulated_facts_are_judged_by_content(source: str, summary: str, ok: bool) -> None:
    assert check_faithfulness(summary, source).ok is ok


# --- sentence-initial capitals are not names --------------------------------------------------------------

@pytest.mark.parametrize("summary,ok", [
    ("Sau khi tiêm, trẻ cần được theo dõi.", True),
    ("Trẻ cần được theo dõi Sau khi tiêm.", False),  # mid-sentence the same capital is a name
    ("Lịch tiêm như dưới: Mỗi trẻ tiêm 1 liều.\n- Hoàn toàn miễn phí.", True),
    ("Lịch tiêm như dưới, Mỗi trẻ tiêm 1 liều.", False),
    ("Trẻ tiêm 1 liều, Hoàn toàn miễn phí.", False),
])
def test_only_mid_sentence_capitals_are_names(summary: str, ok: bool) -> None:
    # The source lacks "sau", "mỗi" and "hoàn": only the sentence-start rule lets them through.
    source = "trẻ cần được theo dõi khi tiêm. lịch tiêm như dưới: trẻ tiêm 1 liều, miễn phí."
    report = check_faithfulness(summary, source)
    assert report.ok is ok, report.reason()
    if not ok:
        assert [fact.kind for fact in report.missing] == ["name"]


# --- the frame the system adds is allowed through allowed_extra -------------------------------------------

def test_frame_and_title_pass_only_when_allowed() -> None:
    script = f"{OPENING} {SENTENCES[1]} {SENTENCES[9]} {CLOSING}"
    assert check_faithfulness(script, SOURCE, allowed_extra=f"{TITLE}\n{OPENING}\n{CLOSING}").ok
    titled = f"{TITLE}. {script}"
    assert check_faithfulness(titled, SOURCE, allowed_extra=f"{TITLE}\n{OPENING}\n{CLOSING}").ok
    report = check_faithfulness(titled, SOURCE)
    assert kinds(report) == {("number", "45/TB-UBND"), ("name", "Đài Truyền")}


def test_allowed_extra_does_not_excuse_other_facts() -> None:
    summary = f"{OPENING} Tiêm ngày 6/12. {CLOSING}"
    report = check_faithfulness(summary, SOURCE, allowed_extra=f"{OPENING}\n{CLOSING}")
    assert kinds(report) == {("date", "6/12")}


# --- the report -------------------------------------------------------------------------------------------

def test_reason_is_one_bilingual_line_naming_the_facts() -> None:
    report = check_faithfulness("Trạm Y tế xã Mỹ Chánh, trực\nđến 8h30.", SOURCE)
    reason = report.reason()
    assert "\n" not in reason
    assert "Mỹ Chánh" in reason and "8h30" in reason
    assert "tên riêng" in reason and "name" in reason and "giờ" in reason and "time" in reason


def test_ok_report_has_a_reason_and_is_frozen() -> None:
    report = check_faithfulness(SENTENCES[3], SOURCE)
    assert report == FaithfulnessReport(ok=True, missing=())
    assert "khớp" in report.reason() and "supported" in report.reason()
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.ok = False  # type: ignore[misc]


def test_a_translation_that_drops_a_number_is_caught() -> None:
    source = "Tiêm ngày 05 tháng 12 năm 2026 lúc 7 giờ 30, liên hệ 0294 3870 115."
    # Khmer digits by value, the month named in words, the phone run together, "05" as "5": nothing lost.
    assert lost_numbers(source, "ចាក់ថ្ងៃទី ៥ ខែធ្នូ ឆ្នាំ ២០២៦ ម៉ោង ៧:៣០ ទូរស័ព្ទ ០២៩៤៣៨៧០១១៥។") == ()
    assert lost_numbers(source, "ចាក់ថ្ងៃទី ៥ ខែធ្នូ ឆ្នាំ ២០២៦ ទូរស័ព្ទ ០២៩៤ ៣៨៧០ ១១៥។") == ("30",)
    assert lost_numbers(source, "ចាក់ខែធ្នូ។") == ("05", "2026", "7", "30", "0294", "3870", "115")
    assert lost_numbers("Không có số nào.", "") == ()
