"""Messages written for the CLI and logs reach officers in Vietnamese, without commands, paths or English."""

import pytest

from domain.errors import ApprovalRefused, InvalidInput
from web.officer_text import error_text, officer_message

CLI_AND_ENGINE_MESSAGES = [
    ("awaiting a translation into Khmer (km): no machine translation is configured for it, so a translator "
     "must provide the text",
     "Đang chờ bản dịch tiếng Khmer: chưa có máy dịch cho ngôn ngữ này, cần người dịch nhập nội dung."),
    ("Speech: no voice for language km: espeak-ng speaks only Vietnamese; register a Piper or MMS-TTS voice with "
     "'bantin models add --task tts': loudspeakers need a person's recording",
     "Chưa có giọng đọc máy cho ngôn ngữ này: cần tải lên bản ghi âm giọng người đọc. "
     "Quản trị viên có thể cài thêm giọng đọc."),
    ("summary by 'x': no summarize model for language 'km' (Khmer); register one with 'bantin models add'",
     "Máy chủ chưa có mô hình xử lý cho ngôn ngữ này. Quản trị viên cần cài thêm."),
    ("unknown area code(s): 99999 (see 'bantin areas list')",
     "Không có địa bàn mang mã 99999. Hãy kiểm tra lại mã xã, phường hoặc tỉnh."),
    ("/tmp/bantin-upload-k2j3/recording.m4a: not a readable media file: Invalid data found when processing input",
     "Không đọc được tệp âm thanh. Hãy thử ghi âm lại hoặc lưu dưới dạng MP3, M4A hoặc WAV."),
    ("user 'editor_daloc' wrote this content and may not approve it (four-eyes rule)",
     "Người viết nội dung không được tự duyệt (cần một người khác duyệt)."),
]


@pytest.mark.parametrize(("english", "vietnamese"), CLI_AND_ENGINE_MESSAGES)
def test_known_messages_are_said_in_vietnamese(english: str, vietnamese: str) -> None:
    said = officer_message("vi", english)
    assert said == vietnamese
    for leak in ("bantin ", "/tmp", "four-eyes", "Piper", "awaiting"):
        assert leak not in said


def test_english_readers_get_english_and_unknown_messages_a_generic_sentence() -> None:
    assert officer_message("en", "the draft has no title") == "The draft has no title: type a title."
    assert error_text("vi", InvalidInput("frobnicated widget 7")) == "Thông tin nhập chưa hợp lệ. Hãy kiểm tra lại."
    assert error_text("vi", ApprovalRefused("some new rule")) == "Bạn không thể thực hiện thao tác này."
    assert error_text("en", InvalidInput("frobnicated widget 7")) == "frobnicated widget 7"
    assert officer_message("vi", "MT", fallback="err_blocked").startswith("Bản này chưa sẵn sàng")
