"""E-board slides rendered with real fonts and libraqm, inspected pixel by pixel."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from engines import slides
from engines.errors import RenderError
from engines.slides import find_font, render_slides

TITLE = "Thông báo lịch tiêm chủng mở rộng tháng 10"
BODY = (
    "Ủy ban nhân dân xã Tân Lập thông báo lịch tiêm chủng cho trẻ em dưới 5 tuổi vào sáng thứ Bảy tại "
    "Trạm Y tế xã. Đề nghị các gia đình đưa trẻ đến đúng giờ và mang theo sổ tiêm chủng."
)
KHMER_TITLE = "ស្រុកកំពង់ត្រាច"  # "Kampong Trach district": coeng subscripts (្រ, ្ត) and vowel signs
BAND_REGION = (slice(0, slides.BAND_H), slice(0, slides.WIDTH))
BODY_REGION = (slice(slides.BAND_H, slides.HEIGHT - slides.FOOTER_H), slice(0, slides.WIDTH))


def render(tmp_path: Path, name: str = "out", **overrides: object) -> list[Path]:
    kwargs: dict = dict(title=TITLE, body=BODY, language_script="Latn", priority_label="THƯỜNG",
                        emergency=False, footer="UBND xã Tân Lập · Số 12/TB-UBND", out_dir=tmp_path / name)
    kwargs.update(overrides)
    return render_slides(**kwargs)


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def white(a: np.ndarray) -> np.ndarray:
    return (a > 200).all(axis=-1)


def yellow_ink(a: np.ndarray) -> np.ndarray:
    """Title pixels more than half covered: yellow (255, 212, 0) over the (16, 20, 24) background."""
    return ((a[..., 0] - 16) / 239 > 0.5) & (a[..., 2] < 100)


def crop_to_ink(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def reference_ink(font_path: Path, size: int, text: str, layout: ImageFont.Layout) -> np.ndarray:
    font = ImageFont.truetype(str(font_path), size, layout_engine=layout)
    img = Image.new("L", (1800, 300), 0)
    extra = {"language": "km"} if layout == ImageFont.Layout.RAQM else {}
    ImageDraw.Draw(img).text((50, 200), text, font=font, fill=255, anchor="ls", **extra)
    return crop_to_ink(np.asarray(img) / 255 > 0.5)


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two top-left aligned masks."""
    h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    pa, pb = np.zeros((h, w), bool), np.zeros((h, w), bool)
    pa[: a.shape[0], : a.shape[1]], pb[: b.shape[0], : b.shape[1]] = a, b
    return float((pa & pb).sum() / (pa | pb).sum())


def test_slide_is_full_hd_and_carries_text(tmp_path: Path) -> None:
    (path,) = render(tmp_path)
    img = Image.open(path)
    assert (img.size, img.mode, img.format) == ((1920, 1080), "RGB", "PNG")
    a = pixels(path)
    assert white(a[BODY_REGION]).sum() > 20_000  # body text
    assert yellow_ink(a[BODY_REGION]).sum() > 10_000  # title
    assert white(a[BAND_REGION]).sum() > 2_000  # priority label


def test_long_body_is_paginated_with_page_marker(tmp_path: Path) -> None:
    single = render(tmp_path, "single")
    pages = render(tmp_path, "multi", body="\n\n".join([BODY] * 8))
    assert len(single) == 1 and len(pages) >= 3
    assert [p.name for p in pages] == [f"slide-{n:02d}.png" for n in range(1, len(pages) + 1)]
    marker_area = (slice(0, slides.BAND_H), slice(slides.WIDTH - 400, slides.WIDTH))
    assert white(pixels(single[0])[marker_area]).sum() == 0
    for page in pages:
        a = pixels(page)
        assert white(a[marker_area]).sum() > 500  # "n/N"
        assert white(a[BODY_REGION]).sum() > 5_000  # no empty continuation slide
        assert yellow_ink(a[BODY_REGION]).sum() > 1_000  # title repeated for context


def test_text_is_wrapped_inside_the_margins(tmp_path: Path) -> None:
    long_word = "Khoảng" * 40  # wider than the slide: must be broken, not overflow
    pages = render(tmp_path, body=f"{BODY} {long_word} {BODY}")
    for page in pages:
        body = white(pixels(page)[BODY_REGION])
        cols = np.nonzero(body.any(axis=0))[0]
        assert cols.min() >= slides.MARGIN - 8
        assert cols.max() <= slides.WIDTH - slides.MARGIN + 8


def test_priority_band_is_red_for_emergency_and_blue_otherwise(tmp_path: Path) -> None:
    normal = pixels(render(tmp_path, "n")[0])
    urgent = pixels(render(tmp_path, "e", emergency=True, priority_label="KHẨN CẤP")[0])
    r, g, b = urgent[10, slides.WIDTH // 2]
    assert r > 180 and g < 60 and b < 80
    r, g, b = normal[10, slides.WIDTH // 2]
    assert b > 140 and r < 60
    assert tuple(urgent[slides.HEIGHT // 2, 3]) == tuple(urgent[10, slides.WIDTH // 2])  # red frame


def test_same_input_gives_identical_bytes(tmp_path: Path) -> None:
    first = render(tmp_path, "a", body="\n\n".join([BODY] * 4))
    second = render(tmp_path, "b", body="\n\n".join([BODY] * 4))
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_decomposed_vietnamese_renders_like_precomposed(tmp_path: Path) -> None:
    (nfc,) = render(tmp_path, "nfc")
    decomposed = {key: unicodedata.normalize("NFD", text) for key, text in (("title", TITLE), ("body", BODY))}
    (nfd,) = render(tmp_path, "nfd", **decomposed)
    assert decomposed["body"] != BODY  # the input really was decomposed
    assert nfc.read_bytes() == nfd.read_bytes()


def test_fonts_for_both_scripts_are_found() -> None:
    assert find_font("Latn").name == "NotoSans-Regular.ttf"
    assert find_font("Latn", bold=True).name == "NotoSans-Bold.ttf"
    assert find_font("Khmr").name == "NotoSansKhmer-Regular.ttf"
    assert find_font("Khmr", bold=True).name == "NotoSansKhmer-Bold.ttf"


def test_raqm_shapes_a_khmer_subscript_cluster() -> None:
    # ស្រុក: the coeng + RO must become a subscript form around the base; basic layout cannot do that.
    font = find_font("Khmr")
    shaped = reference_ink(font, 96, "ស្រុក", ImageFont.Layout.RAQM)
    unshaped = reference_ink(font, 96, "ស្រុក", ImageFont.Layout.BASIC)
    assert overlap(shaped, unshaped) < 0.9


def test_khmer_title_is_drawn_with_shaped_khmer_glyphs(tmp_path: Path) -> None:
    (path,) = render(tmp_path, title=KHMER_TITLE, body="", language_script="Khmr")
    drawn = crop_to_ink(yellow_ink(pixels(path)[BODY_REGION]))
    size = slides.TITLE_SIZES[0]
    khmer_bold = find_font("Khmr", bold=True)
    assert overlap(drawn, reference_ink(khmer_bold, size, KHMER_TITLE, ImageFont.Layout.RAQM)) > 0.97
    assert overlap(drawn, reference_ink(khmer_bold, size, KHMER_TITLE, ImageFont.Layout.BASIC)) < 0.9
    latin_bold = find_font("Latn", bold=True)  # no Khmer glyphs: would draw boxes
    assert overlap(drawn, reference_ink(latin_bold, size, KHMER_TITLE, ImageFont.Layout.RAQM)) < 0.5


def test_khmer_text_without_spaces_is_wrapped_between_clusters(tmp_path: Path) -> None:
    pages = render(tmp_path, title=KHMER_TITLE, body=KHMER_TITLE * 12, language_script="Khmr")
    body = white(pixels(pages[0])[BODY_REGION])
    rows = np.nonzero(body.any(axis=1))[0]
    assert rows.max() - rows.min() > 2 * slides.BODY_SIZE  # more than one line
    assert np.nonzero(body.any(axis=0))[0].max() <= slides.WIDTH - slides.MARGIN + 8


def test_font_dir_is_searched_before_system_fonts(tmp_path: Path) -> None:
    (tmp_path / "fonts").mkdir()
    own = tmp_path / "fonts" / "NotoSans-Regular.ttf"
    shutil.copy(find_font("Latn"), own)
    assert find_font("Latn", font_dir=tmp_path / "fonts") == own


def test_missing_khmer_font_raises_with_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    only_latin = tmp_path / "fonts"
    only_latin.mkdir()
    for bold in (False, True):
        shutil.copy(find_font("Latn", bold=bold), only_latin)
    monkeypatch.setattr(slides, "SYSTEM_FONT_DIRS", (tmp_path / "no-system-fonts",))
    assert render(tmp_path, "latin", font_dir=only_latin)  # Vietnamese still renders
    with pytest.raises(RenderError, match="apt-get install fonts-noto-core"):
        render(tmp_path, "khmer", title=KHMER_TITLE, language_script="Khmr", font_dir=only_latin)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"title": "", "body": "  "}, "nothing to render"), ({"language_script": "Arab"}, "Arab")],
)
def test_unrenderable_input_raises(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render(tmp_path, **overrides)


# --- meaning-preserving layout (engines/slide_layout.py, slides.plan_slides) ---

HOTLINE_TAIL = "Khi cần hỗ trợ khẩn cấp, gọi ngay đường dây nóng 0294 3870 115 hoặc ông Nguyễn Văn An."
FILLER = "Bà con theo dõi thông tin trên loa truyền thanh của xã và làm theo hướng dẫn của lực lượng chức năng."


def plan(body: str, **overrides: object) -> slides.SlidePlan:
    kwargs: dict = dict(title=TITLE, body=body, language_script="Latn", emergency=False)
    kwargs.update(overrides)
    return slides.plan_slides(**kwargs)


NBSP = "\u00a0"


def page_texts(p: slides.SlidePlan) -> list[str]:
    return [" ".join(" ".join(page.body_lines).replace(NBSP, " ").split()) for page in p.pages]


@pytest.mark.parametrize("words_before", range(0, 48, 3))
def test_hotline_date_and_name_are_never_split(words_before: int) -> None:
    # Move the hotline through every position on the line and around the slide break.
    lead = " ".join(["mưa"] * words_before)
    body = f"{FILLER} {FILLER} {FILLER} Từ {lead} ngày 8 tháng 12 năm 2026 các hộ di dời. {FILLER} {HOTLINE_TAIL}"
    lines = [line for page in plan(body).pages for line in page.body_lines]
    assert sum("0294\u00a03870\u00a0115" in line for line in lines) == 1
    assert sum("Nguyễn\u00a0Văn\u00a0An" in line for line in lines) == 1
    assert sum("ngày\u00a08\u00a0tháng\u00a012\u00a0năm\u00a02026" in line for line in lines) == 1


def test_slides_hold_whole_sentences() -> None:
    sentences = [f"Câu thứ {n} nói rằng bà con cần chuẩn bị lương thực, nước uống và thuốc men cho ba ngày."
                 for n in range(1, 15)]
    p = plan(" ".join(sentences))
    texts = page_texts(p)
    assert len(texts) >= 2 and not p.split_sentence
    for text in texts:
        assert text.startswith("Câu thứ") and text.endswith("ba ngày.")
    assert " ".join(texts) == " ".join(sentences)  # nothing lost, order kept


def test_a_sentence_longer_than_a_slide_gets_smaller_type_before_it_is_split() -> None:
    long_sentence = ", ".join(["các hộ ven sông chằng chống nhà cửa"] * 11) + "."
    p = plan(long_sentence)
    assert p.body_size < slides.BODY_SIZE and len(p.pages) == 1 and not p.split_sentence
    huge = ", ".join(["các hộ ven sông chằng chống nhà cửa"] * 40) + "."
    p = plan(huge)
    assert p.split_sentence and p.body_size == slides.NORMAL.body_sizes[-1] and len(p.pages) >= 2


def test_sentences_are_cut_at_full_stops_but_not_abbreviations() -> None:
    from engines.slide_layout import sentences

    assert sentences("TP. Cần Thơ có mưa. Bà con chú ý! 15 hộ đã di dời. Xong") == [
        "TP. Cần Thơ có mưa.", "Bà con chú ý!", "15 hộ đã di dời.", "Xong"]
    assert sentences("ស្រុកកំពង់ត្រាច។ ទូរស័ព្ទ 115។") == ["ស្រុកកំពង់ត្រាច។", "ទូរស័ព្ទ 115។"]
    # Short words and names before a full stop still end the sentence.
    assert sentences("Họp tại xã Tân An. Về nhà hôm nay. Mai họp tiếp, ThS. Lê Hoa chủ trì.") == [
        "Họp tại xã Tân An.", "Về nhà hôm nay.", "Mai họp tiếp, ThS. Lê Hoa chủ trì."]


def test_footer_names_issuer_area_and_validity_in_vietnam_time(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    until = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    p = plan(BODY, issuer="Ủy ban nhân dân xã Đa Lộc", area="xã Đa Lộc", footer="12/TB-UBND", valid_until=until)
    assert p.footer_left == "Ủy ban nhân dân xã Đa Lộc · xã Đa Lộc · 12/TB-UBND"
    assert p.footer_right == "Hiệu lực đến 17:00 ngày 08/12/2026"
    (with_validity,) = render(tmp_path, "v", issuer="UBND xã Đa Lộc", area="xã Đa Lộc", valid_until=until)
    (without,) = render(tmp_path, "w", issuer="UBND xã Đa Lộc", area="xã Đa Lộc")
    footer_right = (slice(slides.HEIGHT - slides.FOOTER_H, slides.HEIGHT), slice(slides.WIDTH // 2, slides.WIDTH))
    assert yellow_ink(pixels(with_validity)[footer_right]).sum() > 1_000
    assert yellow_ink(pixels(without)[footer_right]).sum() == 0


def test_emergency_layout_is_distinct(tmp_path: Path) -> None:
    normal, urgent = plan(BODY), plan(BODY, emergency=True)
    assert urgent.body_size > normal.body_size
    assert urgent.title_size > normal.title_size and urgent.style.band_h > normal.style.band_h
    e = pixels(render(tmp_path, "e", emergency=True, priority_label="KHẨN CẤP")[0])
    n = pixels(render(tmp_path, "n")[0])
    stripe_y = slides.EMERGENCY.band_h + slides.STRIPE_H // 2
    assert tuple(e[stripe_y, slides.WIDTH // 2]) == (255, 212, 0)  # yellow stripe under the red band
    assert tuple(e[slides.NORMAL.band_h + 20, slides.WIDTH // 2]) == (200, 16, 46)  # the band is taller
    assert tuple(n[stripe_y, slides.WIDTH // 2]) == slides.BG


# --- the feedback QR code (engines/slide_qr.py) ---

FEEDBACK_URL = "https://bantin.example.vn/phan-anh/29377?ban-tin=42"
HOTLINE_BODY = f"{BODY} {HOTLINE_TAIL} " + " ".join([FILLER] * 6)


def decoded(image: Image.Image) -> list[str]:
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.parametrize("emergency", [False, True], ids=["normal", "emergency"])
def test_every_slide_carries_a_qr_code_of_the_feedback_link(tmp_path: Path, emergency: bool) -> None:
    pages = render(tmp_path, body=HOTLINE_BODY, emergency=emergency, feedback_url=FEEDBACK_URL,
                   priority_label="KHẨN CẤP" if emergency else "THƯỜNG", issuer="UBND xã Tân Lập")
    assert len(pages) >= 2
    for page in pages:
        img = Image.open(page).convert("RGB")
        assert decoded(img) == [FEEDBACK_URL]
        # Boards showing the slide scaled down to 1366x768 or 1280x720 (16:9 panels) still show a readable code.
        for size in ((1366, 768), (1280, 720)):
            assert decoded(img.resize(size, Image.Resampling.LANCZOS)) == [FEEDBACK_URL]
        a = pixels(page)
        footer = a[slides.HEIGHT - slides.FOOTER_H:, :]
        assert white(footer).sum() > 500  # the footer text is still drawn
        assert tuple(footer[40, slides.WIDTH // 2 + 300]) == slides.FOOTER_BG


def test_without_a_feedback_link_there_is_no_code(tmp_path: Path) -> None:
    (page,) = render(tmp_path)
    assert plan(BODY).qr is None and plan(BODY).body_width == 1728
    assert decoded(Image.open(page).convert("RGB")) == []


def test_the_body_column_leaves_the_qr_panel_clear(tmp_path: Path) -> None:
    p = plan(HOTLINE_BODY, feedback_url=FEEDBACK_URL, issuer="UBND xã Tân Lập")
    assert p.qr is not None
    # A 51-character URL is a version-4 code (33 modules) plus 4 quiet modules a side: 41 modules of 7 px.
    assert (p.qr.module, p.qr.size) == (7, 287)
    assert (p.qr.x + p.qr.size, p.qr.y + p.qr.size) == (1920 - 96, 1080 - 96 - 24)  # above the footer
    assert p.body_width == 1728 - 287 - 48
    pages = render(tmp_path, body=HOTLINE_BODY, feedback_url=FEEDBACK_URL, issuer="UBND xã Tân Lập")
    assert len(pages) == len(p.pages)
    for page in pages:
        a = pixels(page)
        gap = a[p.qr.caption_top: slides.HEIGHT - slides.FOOTER_H, slides.MARGIN + p.body_width + 8: p.qr.x - 8]
        assert not white(gap).any() and not yellow_ink(gap).any()  # no text runs into the panel
        body = white(a[slides.BAND_H: p.qr.caption_top - 16, :slides.WIDTH - slides.MARGIN + 8])
        assert body.sum() > 5_000
        square = a[p.qr.y: p.qr.y + p.qr.size, p.qr.x: p.qr.x + p.qr.size]
        assert white(square[:28, :]).all() and white(square[:, :28]).all()  # 4-module white quiet zone


@pytest.mark.parametrize("words_before", range(0, 48, 6))
def test_with_the_qr_code_hotline_date_and_name_are_still_never_split(words_before: int) -> None:
    lead = " ".join(["mưa"] * words_before)
    body = f"{FILLER} {FILLER} {FILLER} Từ {lead} ngày 8 tháng 12 năm 2026 các hộ di dời. {FILLER} {HOTLINE_TAIL}"
    for emergency in (False, True):
        p = plan(body, feedback_url=FEEDBACK_URL, emergency=emergency)
        lines = [line for page in p.pages for line in page.body_lines]
        assert sum("0294\u00a03870\u00a0115" in line for line in lines) == 1
        assert sum("Nguyễn\u00a0Văn\u00a0An" in line for line in lines) == 1
        assert sum("ngày\u00a08\u00a0tháng\u00a012\u00a0năm\u00a02026" in line for line in lines) == 1
        texts = page_texts(p)
        assert all(t.endswith((".", "!", "?")) for t in texts) and not p.split_sentence


def test_a_long_emergency_title_moves_left_of_the_qr_panel() -> None:
    title = "Khẩn cấp: sơ tán ngay toàn bộ các hộ dân ven sông Hậu thuộc ấp Đa Cần, ấp Sóc Ruộng và ấp Ô Rồm"
    free = plan(BODY, title=title, emergency=True)
    with_qr = plan(BODY, title=title, emergency=True, feedback_url=FEEDBACK_URL)
    assert len(free.pages[0].title_lines) == 3  # three lines at full width reach down to the panel...
    assert with_qr.qr is not None and with_qr.pages[0].title_lines != free.pages[0].title_lines  # ...so they narrow


def test_an_overlong_feedback_link_is_refused() -> None:
    with pytest.raises(RenderError, match="QR"):
        plan(BODY, feedback_url="https://bantin.example.vn/phan-anh/29377?x=" + "a" * 600)


def test_a_cut_title_ends_on_a_whole_word() -> None:
    from engines.slide_layout import ellipsize
    title = "Thông báo lịch tiêm vắc xin sởi cho trẻ em tháng 12 năm 2026"
    assert ellipsize(len, title, 55) == "Thông báo lịch tiêm vắc xin sởi cho trẻ em tháng 12…"
    assert ellipsize(len, title, 60) == title
    assert ellipsize(len, "Hạn chót: ngày 5, tháng 12", 17) == "Hạn chót: ngày 5…"


def test_text_without_spaces_is_still_cut_between_clusters() -> None:
    from engines.slide_layout import ellipsize
    assert ellipsize(len, "abcdefghij", 5) == "abcd…"
