"""Submitting a pasted portal page: cleaned, reported, refused or confirmed; the original always kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.drafts import draft_app
from domain.intake_policy import CleaningNeedsConfirmation, DraftAllBoilerplate, TitleNeeded
from services import drafts as draft_service
from services import intake
from services.runtime import object_store, session
from storage.repositories import audit, drafts

pytestmark = pytest.mark.integration
runner = CliRunner()

ARTICLE = "\n".join((
    "English | Khmer",
    "Xem cỡ chữ A+ A-",
    "Xã Tân Lập tổ chức tiêm vắc xin sởi cho trẻ em",
    "Thứ Hai, 07/12/2026 08:30",
    "Ủy ban nhân dân xã Tân Lập tổ chức tiêm vắc xin sởi cho trẻ từ 1 đến 5 tuổi vào ngày 12/12/2026.",
    "Ảnh minh họa",
    "Địa điểm tiêm là Trạm Y tế xã, thời gian từ 7 giờ 30 đến 11 giờ.",
    "Đề nghị các gia đình đưa trẻ đến đúng giờ và mang theo sổ tiêm chủng.",
))




def request(**kw: object) -> draft_service.DraftRequest:
    fields: dict[str, object] = dict(body=ARTICLE, area_codes=["29377"], languages="vi", priority="thuong",
                                     author="demo-editor")
    fields.update(kw)
    return draft_service.DraftRequest(**fields)  # type: ignore[arg-type]


def draft_count() -> int:
    with session() as s:
        return len(drafts.list_drafts(s))


def test_cleaned_draft_keeps_the_original_and_reports(app: Path) -> None:
    with session() as s:
        rev, cleaning = draft_service.submit_cleaned_text_draft(s, object_store(), request())
    assert rev.content.title == "Xã Tân Lập tổ chức tiêm vắc xin sởi cho trẻ em"
    assert rev.content.body == (
        "Ủy ban nhân dân xã Tân Lập tổ chức tiêm vắc xin sởi cho trẻ từ 1 đến 5 tuổi vào ngày 12/12/2026.\n"
        "Địa điểm tiêm là Trạm Y tế xã, thời gian từ 7 giờ 30 đến 11 giờ.\n"
        "Đề nghị các gia đình đưa trẻ đến đúng giờ và mang theo sổ tiêm chủng.")
    assert [r.number for r in cleaning.removed] == [1, 2, 4, 6]
    assert rev.source_key is not None
    assert object_store().get_bytes(rev.source_key).decode("utf-8") == ARTICLE  # the original is kept
    report = intake.report_of(object_store(), rev)
    assert report is not None and [r.rule_id for r in report.removed] == [
        "lang-switch", "font-size", "date-weekday", "img-caption"]
    with session() as s:
        entry = [e for e in audit.entries(s, entity="draft", entity_id=rev.draft_id)
                 if e.action == "draft.submitted"][-1]
        detail = dict(entry.detail)
    assert detail["removed_lines"] == [1, 2, 4, 6]
    assert detail["article_date"] == "2026-12-07"
    assert detail["cleaning_rules"] == "intake/rules-v3"


def test_all_boilerplate_refused_and_nothing_stored(app: Path) -> None:
    with session() as s, pytest.raises(DraftAllBoilerplate) as err:
        draft_service.submit_cleaned_text_draft(s, object_store(), request(
            body="English | Khmer\nTrang chủ | Giới thiệu | Liên hệ\nĐang online: 12\n**", title="Tin mới"))
    assert "English | Khmer" in str(err.value) and "Đã bỏ 4 dòng" in str(err.value)
    assert draft_count() == 0


def test_heavy_cleaning_needs_confirmation_and_keep_restores_a_line(app: Path) -> None:
    body = "\n".join(("Lịch cắt điện thôn Đông ngày 10/12/2026", "Trang chủ | Giới thiệu | Liên hệ",
                      "Đang online: 12", "Hôm nay: 340", "Xem cỡ chữ A+ A-",
                      "Điện lực xã cắt điện thôn Đông từ 7 giờ đến 11 giờ ngày 10/12/2026 để sửa đường dây.",
                      "Nguyễn Văn An"))
    with session() as s, pytest.raises(CleaningNeedsConfirmation):
        draft_service.submit_cleaned_text_draft(s, object_store(), request(body=body))
    assert draft_count() == 0
    with session() as s:
        rev, cleaning = draft_service.submit_cleaned_text_draft(
            s, object_store(), request(body=body, confirm_cleaning=True, keep_lines=(7,)))
    assert rev.content.body.split("\n") == [
        "Điện lực xã cắt điện thôn Đông từ 7 giờ đến 11 giờ ngày 10/12/2026 để sửa đường dây.", "Nguyễn Văn An"]
    assert [r.number for r in cleaning.removed] == [2, 3, 4, 5]
    report = intake.report_of(object_store(), rev)
    assert report is not None and [r.number for r in report.removed] == [2, 3, 4, 5]


def test_no_headline_asks_for_a_title(app: Path) -> None:
    body = "KẾ HOẠCH\nỦy ban nhân dân xã Tân Lập thông báo đến toàn thể bà con nhân dân về việc tổ chức tiêm " \
           "vắc xin phòng bệnh sởi cho trẻ em từ một đến năm tuổi tại trạm y tế xã trong tuần tới."
    with session() as s, pytest.raises(TitleNeeded, match="Chưa có tiêu đề"):
        draft_service.submit_cleaned_text_draft(s, object_store(), request(body=body.replace("KẾ HOẠCH\n", "")))
    with session() as s, pytest.raises(TitleNeeded, match="web boilerplate"):
        draft_service.submit_cleaned_text_draft(s, object_store(), request(title="English | Khmer"))
    with session() as s:
        rev = draft_service.submit_text_draft(s, object_store(), request(body=body, title="Tiêm vắc xin sởi"))
    assert rev.content.title == "Tiêm vắc xin sởi"
    assert draft_count() == 1


def test_cli_prints_what_was_removed_and_refuses_without_yes(app: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(ARTICLE, encoding="utf-8")
    ok = runner.invoke(draft_app, ["submit", str(page), "--area", "29377", "--as", "demo-editor"])
    assert ok.exit_code == 0, ok.output
    assert "removed 4 of 8 lines" in ok.output
    assert "line 1: English | Khmer  [language switcher]" in ok.output
    assert "article date (from its dateline): 2026-12-07" in ok.output
    heavy = tmp_path / "heavy.txt"
    heavy.write_text("Lịch cắt điện thôn Đông ngày 10/12/2026\nTrang chủ | Giới thiệu | Liên hệ\nĐang online: 12\n"
                     "Điện lực xã cắt điện thôn Đông từ 7 giờ đến 11 giờ ngày 10/12/2026.\n**", encoding="utf-8")
    refused = runner.invoke(draft_app, ["submit", str(heavy), "--area", "29377", "--as", "demo-editor"])
    assert refused.exit_code != 0
    assert "line 2: Trang chủ | Giới thiệu | Liên hệ" in refused.output
    assert "submit again with --yes" in refused.output
    confirmed = runner.invoke(draft_app, ["submit", str(heavy), "--area", "29377", "--as", "demo-editor", "--yes"])
    assert confirmed.exit_code == 0, confirmed.output
    assert draft_count() == 2


def test_old_news_is_flagged_when_submitted_and_shown(app: Path, tmp_path: Path) -> None:
    page = Path(__file__).parents[1] / "data" / "intake" / "23-quyet-dinh-cu.raw.txt"
    result = runner.invoke(draft_app, ["submit", str(page), "--area", "29377", "--as", "demo-editor", "--yes"])
    assert result.exit_code == 0, result.output
    assert "article date (from its dateline): 2011-05-16" in result.output
    assert "WARNING: Possibly old news: the newest date in the bulletin is 20/05/2011" in result.output
    fresh = tmp_path / "fresh.txt"
    fresh.write_text(f"Họp dân thôn Đông bàn làm đường giao thông\nThôn Đông họp dân lúc 19 giờ ngày "
                     f"{datetime.now(UTC) + timedelta(days=3):%d/%m/%Y} tại nhà văn hóa thôn.", encoding="utf-8")
    ok = runner.invoke(draft_app, ["submit", str(fresh), "--area", "29377", "--as", "demo-editor"])
    assert ok.exit_code == 0 and "WARNING" not in ok.output
    shown = runner.invoke(draft_app, ["show", "1"])
    assert "WARNING: Possibly old news" in shown.output
