"""1920x1080 PNG slides for public e-boards.

Boards hang in market squares and outside commune halls and are read from several metres away, often
in sunlight, so the layout is big type (64 px body, up to 84 px title), light text on a near-black
background and a full-width coloured band naming the priority (red, plus a red frame, for an
emergency). Text is wrapped by measured pixel width and flows over as many slides as needed.
With a feedback link, every slide carries a QR code at the bottom right, above the footer, with a short
caption; the body column is narrowed so no text runs under it (:mod:`engines.slide_qr`).

Vietnamese stacks tone marks on top of vowel marks and Khmer stacks subscript consonants (coeng) and
vowels around a base, so text is shaped with libraqm (``ImageFont.Layout.RAQM``); Pillow's basic
layout would draw Khmer clusters as unconnected glyphs. Pillow has no font fallback, so each line is
split into runs: Khmer characters use the Khmer font, everything else the Latin (Vietnamese) font.
Output is byte-deterministic: the same input renders the same PNG bytes.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from engines import slide_layout as layout
from engines import slide_qr
from engines.errors import RenderError
from engines.slide_qr import QR_CAPTION, QR_CAPTION_SIZE, QR_GAP, QrPlace

WIDTH, HEIGHT = 1920, 1080
MARGIN = 96
BAND_H, FOOTER_H = 150, 96
BODY_SIZE, LABEL_SIZE, FOOTER_SIZE = 64, 64, 40
TITLE_SIZES = (84, 72, 60)  # shrink a long title before giving up lines of body text
TITLE_MAX_LINES = 3
BG, TEXT, TITLE = (16, 20, 24), (255, 255, 255), (255, 212, 0)  # white 17:1, yellow 13:1 on BG
FOOTER_BG, FOOTER_TEXT = (38, 44, 52), (205, 211, 217)
SYSTEM_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
_FONT_FILES = {
    ("Latn", False): ("NotoSans-Regular.ttf", "DejaVuSans.ttf"),
    ("Latn", True): ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
    ("Khmr", False): ("NotoSansKhmer-Regular.ttf", "KhmerOS.ttf"),
    ("Khmr", True): ("NotoSansKhmer-Bold.ttf",),
}
_KHMER = re.compile(r"[\u1780-\u17FF\u19E0-\u19FF]")
_JOINERS = "\u200b\u200c\u200d"  # stay in the current run so Khmer shaping is not cut
_RGB = tuple[int, int, int]


def find_font(script: str, bold: bool = False, font_dir: Path | None = None) -> Path:
    """Find a font file for a script, searching ``font_dir`` first, then the system font folders.

    Args:
        script: ISO 15924 code, ``"Latn"`` (Vietnamese) or ``"Khmr"``.
        bold: Prefer a bold face; the regular face is used when no bold one exists.
        font_dir: An operator-supplied folder searched before the system's.

    Returns:
        Path of the first matching font file (Noto Sans / Noto Sans Khmer preferred).

    Raises:
        RenderError: The script is unsupported or no font for it is installed.
    """
    if (script, False) not in _FONT_FILES:
        raise RenderError(f"no slide font configured for script {script!r} (supported: Latn, Khmr)")
    names = _FONT_FILES[(script, False)]
    if bold:
        names = _FONT_FILES[(script, True)] + names
    roots = ([Path(font_dir)] if font_dir else []) + list(SYSTEM_FONT_DIRS)
    for root in roots:
        found = _index(root) if root in SYSTEM_FONT_DIRS else _scan(root)
        for name in names:
            if name in found:
                return found[name]
    where = ", ".join(str(r) for r in roots)
    raise RenderError(f"no {script} font ({names[0]}) in {where}: apt-get install fonts-noto-core")


def _scan(root: Path) -> dict[str, Path]:
    # Sorted so that with duplicate names the same file wins on every run.
    return {p.name: p for p in sorted(root.rglob("*.[ot]tf"), reverse=True)} if root.is_dir() else {}


@cache
def _index(root: Path) -> dict[str, Path]:
    return _scan(root)  # system folders change only with apt; scan once per process


@lru_cache(maxsize=64)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.RAQM)


@dataclass(frozen=True)
class _Face:
    """A Latin font plus, when needed, a Khmer font at the same size and weight."""

    latin: ImageFont.FreeTypeFont
    khmer: ImageFont.FreeTypeFont | None

    def runs(self, text: str) -> list[tuple[ImageFont.FreeTypeFont, str, str]]:
        runs: list[list[str]] = []  # [lang, text]
        for ch in text:
            if runs and ch in _JOINERS:
                lang = runs[-1][0]
            else:
                lang = "km" if self.khmer and _KHMER.match(ch) else "vi"
            if runs and runs[-1][0] == lang:
                runs[-1][1] += ch
            else:
                runs.append([lang, ch])
        return [(self.khmer if lang == "km" and self.khmer else self.latin, t, lang) for lang, t in runs]

    def length(self, text: str) -> float:
        return sum(font.getlength(t, language=lang) for font, t, lang in self.runs(text))

    def pitch(self) -> int:
        ascent, descent = (self.khmer or self.latin).getmetrics()
        return int((ascent + descent) * (1.2 if self.khmer else 1.1))

    def draw(self, draw: ImageDraw.ImageDraw, x: float, baseline: int, text: str, fill: _RGB) -> None:
        for font, t, lang in self.runs(text):
            draw.text((x, baseline), t, font=font, fill=fill, anchor="ls", language=lang)
            x += font.getlength(t, language=lang)


@dataclass(frozen=True)
class Style:
    """Sizes and colours of one layout: the everyday one or the emergency one."""

    band_h: int
    label_size: int
    title_sizes: tuple[int, ...]
    body_sizes: tuple[int, ...]  # largest first: fit by sentence at the largest size that can
    band: _RGB
    stripe: _RGB | None  # a second band under the first (emergency: yellow)
    frame: bool


NORMAL = Style(BAND_H, LABEL_SIZE, TITLE_SIZES, (BODY_SIZE, 56, 48), (21, 82, 160), None, False)
EMERGENCY = Style(190, 80, (96, 84, 72), (76, 68, 60), (200, 16, 46), (255, 212, 0), True)
STRIPE_H = 14


@dataclass(frozen=True)
class Page:
    title_lines: tuple[str, ...]
    body_lines: tuple[str, ...]


@dataclass(frozen=True)
class SlidePlan:
    """What each slide shows, decided before anything is drawn (tests read this instead of pixels).

    Attributes:
        pages: Title and body lines per slide; body lines hold no-break spaces inside protected spans.
        style: The layout used (:data:`NORMAL` or :data:`EMERGENCY`).
        title_size: Title size on the first slide (later slides use the smallest title size).
        body_size: Body size, the same on every slide of the bulletin.
        footer_left: Issuing unit, area and reference, cut with "…" to leave room for the validity.
        footer_right: ``Hiệu lực đến HH:MM ngày dd/mm/yyyy`` (empty without an expiry).
        split_sentence: True only when a sentence longer than a slide had to be split between lines.
        body_width: Width the body was wrapped to (narrower with a QR code beside it).
        qr: The QR code's place on every slide, or None without a feedback link.
    """

    pages: tuple[Page, ...]
    style: Style
    title_size: int
    body_size: int
    footer_left: str
    footer_right: str
    split_sentence: bool = False
    body_width: int = WIDTH - 2 * MARGIN
    qr: QrPlace | None = None


def _faces(needs_khmer: bool, font_dir: Path | None) -> Callable[[int, bool], _Face]:
    def face(size: int, bold: bool) -> _Face:
        khmer = _font(find_font("Khmr", bold, font_dir), size) if needs_khmer else None
        return _Face(_font(find_font("Latn", bold, font_dir), size), khmer)

    return face


def plan_slides(
    *,
    title: str,
    body: str,
    language_script: str,
    emergency: bool,
    footer: str = "",
    issuer: str = "",
    area: str = "",
    valid_until: datetime | None = None,
    priority_label: str = "",
    font_dir: Path | None = None,
    feedback_url: str = "",
) -> SlidePlan:
    """Lay a bulletin out over slides without drawing: see :mod:`engines.slide_layout` for the rules.

    With ``feedback_url`` the body column leaves room for the QR code panel at the bottom right; the
    title keeps the full width unless it would reach down to the panel.

    Raises:
        RenderError: an unsupported script, no font, or a feedback link too long for a QR code.
    """
    title, body, footer, issuer, area = (unicodedata.normalize("NFC", s or "").strip()
                                         for s in (title, body, footer, issuer, area))
    if language_script not in ("Latn", "Khmr"):
        find_font(language_script)  # raises the unsupported-script error
    every = title + body + footer + issuer + area + priority_label
    face = _faces(language_script == "Khmr" or bool(_KHMER.search(every)), font_dir)
    style = EMERGENCY if emergency else NORMAL
    text_w = WIDTH - 2 * MARGIN
    top = style.band_h + (STRIPE_H if style.stripe else 0) + 40
    qr = None
    if feedback_url.strip():
        qr = slide_qr.place(feedback_url.strip(), right=WIDTH - MARGIN, bottom=HEIGHT - FOOTER_H - 24,
                            caption_pitch=face(QR_CAPTION_SIZE, True).pitch())
    body_w = text_w
    if qr is not None:
        caption_w = max(face(QR_CAPTION_SIZE, True).length(line) for line in QR_CAPTION)
        body_w = text_w - int(max(qr.size, caption_w)) - QR_GAP
    title_face, title_lines = _title_lines(face, style, title, text_w)
    if qr is not None and top + len(title_lines) * title_face.pitch() > qr.caption_top - 16:
        title_face, title_lines = _title_lines(face, style, title, body_w)
    short_face = face(style.title_sizes[-1], True)
    short_title = [layout.ellipsize(short_face.length, title, text_w)] if title else []

    pages: list[list[str]] | None = None
    split = False
    for body_size in style.body_sizes:
        body_face = face(body_size, False)

        def capacity(tface: _Face, tlines: list[str], body_face: _Face = body_face) -> int:
            used = top + len(tlines) * tface.pitch() + (24 if tlines else 0)
            return max(1, (HEIGHT - FOOTER_H - 24 - used) // body_face.pitch())

        caps = (capacity(title_face, title_lines), capacity(short_face, short_title))
        pages = layout.paginate(body_face.length, body, body_w, caps) if body else [[]]
        if pages is not None:
            break
    if pages is None:  # a sentence longer than a slide even at the smallest size
        pages, split = layout.split_long(body_face.length, body, body_w, caps), True
    footer_face = face(FOOTER_SIZE, False)
    right = layout.valid_until_text(valid_until)
    room = text_w - (footer_face.length(right) + 48 if right else 0)
    left = layout.ellipsize(footer_face.length, " · ".join(x for x in (issuer, area, footer) if x), int(room))
    return SlidePlan(
        pages=tuple(Page(tuple(title_lines if n == 0 else short_title), tuple(lines)) for n, lines in enumerate(pages)),
        style=style, title_size=int(title_face.latin.size), body_size=body_size, footer_left=left, footer_right=right,
        split_sentence=split, body_width=body_w, qr=qr,
    )


def _title_lines(face: Callable[[int, bool], _Face], style: Style, title: str, width: int,
                 ) -> tuple[_Face, list[str]]:
    # The first slide gets the whole title (shrunk until it fits two lines, else cut at three);
    # later slides repeat it on one line so they keep room for the body.
    for size in style.title_sizes:
        title_face = face(size, True)
        title_lines = layout.wrap(title_face.length, title, width) if title else []
        if len(title_lines) <= 2:
            break
    if len(title_lines) > TITLE_MAX_LINES:
        cut = layout.ellipsize(title_face.length, title_lines[TITLE_MAX_LINES - 1].rstrip() + "…", width)
        title_lines = title_lines[: TITLE_MAX_LINES - 1] + [cut]
    return title_face, title_lines


def render_slides(
    *,
    title: str,
    body: str,
    language_script: str,
    priority_label: str,
    emergency: bool,
    footer: str = "",
    out_dir: Path,
    issuer: str = "",
    area: str = "",
    valid_until: datetime | None = None,
    font_dir: Path | None = None,
    feedback_url: str = "",
) -> list[Path]:
    """Render a bulletin as one or more 1920x1080 PNG slides.

    Args:
        title: Bulletin title in the slide's language, repeated on every slide so a passer-by has context.
        body: Board text; blank lines separate paragraphs, single newlines are reflowed. Whole sentences
            go on a slide; numbers, dates, times and names are never split (see :func:`plan_slides`).
        language_script: ``"Latn"`` or ``"Khmr"`` (ISO 15924) for the title and body.
        priority_label: Text in the priority band, e.g. ``"KHẨN CẤP"``.
        emergency: The emergency layout: taller red band with a yellow stripe, larger type, red frame.
        footer: Extra footer text after the issuer and area (a reference such as ``12/TB-UBND``).
        out_dir: Folder for ``slide-01.png``, ``slide-02.png``, ... (created if needed).
        issuer: The issuing unit, first in the footer.
        area: The area the bulletin is for, after the issuer.
        valid_until: Shown at the footer's right as ``Hiệu lực đến ...`` in Vietnam time.
        font_dir: Extra fonts searched before the system's.
        feedback_url: The area's public feedback page citing this bulletin; drawn as a QR code on
            every slide (see :func:`domain.feedback.public_feedback_url`).

    Returns:
        The slide paths in reading order.

    Raises:
        RenderError: Nothing to render, an unsupported script, no font, Pillow without raqm, or a
            feedback link too long for a QR code.
    """
    if not (title or "").strip() and not (body or "").strip():
        raise RenderError("nothing to render: title and body are empty")
    if not features.check("raqm"):
        raise RenderError("Pillow lacks libraqm (Khmer and Vietnamese shaping): apt-get install libraqm0")
    plan = plan_slides(title=title, body=body, language_script=language_script, emergency=emergency,
                       footer=footer, issuer=issuer, area=area, valid_until=valid_until,
                       priority_label=priority_label, font_dir=font_dir, feedback_url=feedback_url)
    style = plan.style
    face = _faces(language_script == "Khmr" or bool(_KHMER.search(
        title + body + footer + issuer + area + priority_label)), font_dir)
    title_face, short_face = face(plan.title_size, True), face(style.title_sizes[-1], True)
    body_face, label_face = face(plan.body_size, False), face(style.label_size, True)
    footer_face, caption_face = face(FOOTER_SIZE, False), face(QR_CAPTION_SIZE, True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    count = len(plan.pages)
    for number, page in enumerate(plan.pages, start=1):
        img = Image.new("RGB", (WIDTH, HEIGHT), BG)
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 0, WIDTH, style.band_h), fill=style.band)
        if style.stripe:
            draw.rectangle((0, style.band_h, WIDTH, style.band_h + STRIPE_H), fill=style.stripe)
        label_baseline = style.band_h // 2 + int(style.label_size * 0.36)
        label_face.draw(draw, MARGIN, label_baseline, priority_label.strip(), TEXT)
        if count > 1:
            marker = f"{number}/{count}"
            label_face.draw(draw, WIDTH - MARGIN - label_face.length(marker), label_baseline, marker, TEXT)
        tface = title_face if number == 1 else short_face
        y = style.band_h + (STRIPE_H if style.stripe else 0) + 40
        for line in page.title_lines:
            y += tface.pitch()
            tface.draw(draw, MARGIN, y - tface.pitch() // 4, line, TITLE)
        y += 24 if page.title_lines else 0
        for line in page.body_lines:
            y += body_face.pitch()
            body_face.draw(draw, MARGIN, y - body_face.pitch() // 4, line, TEXT)
        draw.rectangle((0, HEIGHT - FOOTER_H, WIDTH, HEIGHT), fill=FOOTER_BG)
        footer_baseline = HEIGHT - FOOTER_H // 2 + int(FOOTER_SIZE * 0.36)
        footer_face.draw(draw, MARGIN, footer_baseline, plan.footer_left, FOOTER_TEXT)
        if plan.footer_right:
            right_x = WIDTH - MARGIN - footer_face.length(plan.footer_right)
            footer_face.draw(draw, right_x, footer_baseline, plan.footer_right, TITLE)
        if plan.qr is not None:
            slide_qr.draw(img, draw, plan.qr, caption_face, TITLE)
        if style.frame:
            draw.rectangle((0, 0, WIDTH - 1, HEIGHT - 1), outline=style.band, width=14)
        path = out_dir / f"slide-{number:02d}.png"
        tmp = path.with_name(f".{path.name}.partial")
        img.save(tmp, format="PNG", optimize=False, compress_level=6)  # no text/time chunks: stable bytes
        os.replace(tmp, path)
        paths.append(path)
    return paths
