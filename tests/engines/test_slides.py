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
