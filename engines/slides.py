"""1920x1080 PNG slides for public e-boards.

Boards hang in market squares and outside commune halls and are read from several metres away, often
in sunlight, so the layout is big type (64 px body, up to 84 px title), light text on a near-black
background and a full-width coloured band naming the priority (red, plus a red frame, for an
emergency). Text is wrapped by measured pixel width and flows over as many slides as needed.

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
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from engines.errors import RenderError

WIDTH, HEIGHT = 1920, 1080
MARGIN = 96
BAND_H, FOOTER_H = 150, 96
BODY_SIZE, LABEL_SIZE, FOOTER_SIZE = 64, 64, 40
TITLE_SIZES = (84, 72, 60)  # shrink a long title before giving up lines of body text
TITLE_MAX_LINES = 3
BG, TEXT, TITLE = (16, 20, 24), (255, 255, 255), (255, 212, 0)  # white 17:1, yellow 13:1 on BG
FOOTER_BG, FOOTER_TEXT = (38, 44, 52), (205, 211, 217)
BAND = {False: (21, 82, 160), True: (200, 16, 46)}  # by `emergency`: blue, red
SYSTEM_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
_FONT_FILES = {
    ("Latn", False): ("NotoSans-Regular.ttf", "DejaVuSans.ttf"),
    ("Latn", True): ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
    ("Khmr", False): ("NotoSansKhmer-Regular.ttf", "KhmerOS.ttf"),
    ("Khmr", True): ("NotoSansKhmer-Bold.ttf",),
}
_KHMER = re.compile(r"[\u1780-\u17FF\u19E0-\u19FF]")
_JOINERS = "\u200b\u200c\u200d"  # stay in the current run so Khmer shaping is not cut
_BULLET = re.compile(r"^\s*([-•*–]|\d+[.)])\s")
_COENG = "\u17d2"
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


def _clusters(word: str) -> list[str]:
    """Split into user-perceived clusters; a Khmer subscript (coeng + consonant) stays with its base."""
    out: list[str] = []
    for ch in word:
        mark = unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch in _JOINERS
        attach = mark or (out and out[-1][-1] == _COENG)
        if out and attach:
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; single newlines are soft unless a list item follows."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        merged: list[str] = []
        for line in block.split("\n"):
            if merged and not _BULLET.match(line):
                merged[-1] = f"{merged[-1]} {line.strip()}"
            else:
                merged.append(line.strip())
        paragraphs.extend(merged)
        paragraphs.append("")
    return paragraphs[:-1]


def _wrap(face: _Face, text: str, width: int) -> list[str]:
    lines: list[str] = []
    for para in _paragraphs(text):
        line = ""
        for sep, word in re.findall(r"([ \u200b]*)([^ \u200b]+)", para):
            sep = "\u200b" if "\u200b" in sep and " " not in sep else " "
            candidate = f"{line}{sep}{word}" if line else word
            if face.length(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while face.length(word) > width:  # a word wider than the slide: break between clusters
                head = ""
                for cluster in _clusters(word):
                    if head and face.length(head + cluster) > width:
                        break
                    head += cluster
                lines.append(head)
                word = word[len(head):]
            line = word
        lines.append(line)
    return lines


def _ellipsize(face: _Face, text: str, width: int) -> str:
    clusters = _clusters(text)
    while clusters and face.length("".join(clusters) + "…") > width:
        clusters.pop()
    return "".join(clusters).rstrip() + "…"


def _fit(face: _Face, text: str, width: int) -> str:
    return text if face.length(text) <= width else _ellipsize(face, text, width)


def render_slides(
    *,
    title: str,
    body: str,
    language_script: str,
    priority_label: str,
    emergency: bool,
    footer: str,
    out_dir: Path,
    font_dir: Path | None = None,
) -> list[Path]:
    """Render a bulletin as one or more 1920x1080 PNG slides.

    Args:
        title: Bulletin title, repeated on every slide so a passer-by always has context.
        body: Board text; blank lines separate paragraphs, single newlines are reflowed.
        language_script: ``"Latn"`` or ``"Khmr"`` (ISO 15924) for the title and body.
        priority_label: Text in the priority band, e.g. ``"KHẨN CẤP"``.
        emergency: Red band and frame instead of blue.
        footer: One line at the bottom (requesting unit, reference); cut with "…" if too long.
        out_dir: Folder for ``slide-01.png``, ``slide-02.png``, ... (created if needed).
        font_dir: Extra fonts searched before the system's.

    Returns:
        The slide paths in reading order.

    Raises:
        RenderError: Nothing to render, an unsupported script, no font, or Pillow without raqm.
    """
    title, body, footer = (unicodedata.normalize("NFC", s or "").strip() for s in (title, body, footer))
    if not title and not body:
        raise RenderError("nothing to render: title and body are empty")
    if not features.check("raqm"):
        raise RenderError("Pillow lacks libraqm (Khmer and Vietnamese shaping): apt-get install libraqm0")
    needs_khmer = language_script == "Khmr" or bool(_KHMER.search(title + body + footer + priority_label))
    if language_script not in ("Latn", "Khmr"):
        find_font(language_script)  # raises the unsupported-script error

    def face(size: int, bold: bool) -> _Face:
        khmer = _font(find_font("Khmr", bold, font_dir), size) if needs_khmer else None
        return _Face(_font(find_font("Latn", bold, font_dir), size), khmer)

    text_w = WIDTH - 2 * MARGIN
    # The first slide gets the whole title (shrunk until it fits two lines, else cut at three);
    # later slides repeat it on one line so they keep room for the body.
    for size in TITLE_SIZES:
        title_face = face(size, True)
        title_lines = _wrap(title_face, title, text_w) if title else []
        if len(title_lines) <= 2:
            break
    if len(title_lines) > TITLE_MAX_LINES:
        cut = _ellipsize(title_face, title_lines[TITLE_MAX_LINES - 1], text_w)
        title_lines = title_lines[: TITLE_MAX_LINES - 1] + [cut]
    short_face = face(TITLE_SIZES[-1], True)
    short_title = [_fit(short_face, title, text_w)] if title else []
    body_face, label_face = face(BODY_SIZE, False), face(LABEL_SIZE, True)
    footer_face = face(FOOTER_SIZE, False)

    def capacity(tface: _Face, tlines: list[str]) -> int:
        top = BAND_H + 40 + len(tlines) * tface.pitch() + (24 if tlines else 0)
        return max(1, (HEIGHT - FOOTER_H - 24 - top) // body_face.pitch())

    first_cap, later_cap = capacity(title_face, title_lines), capacity(short_face, short_title)
    pages: list[list[str]] = []
    for line in _wrap(body_face, body, text_w) if body else []:
        if not pages or len(pages[-1]) == (first_cap if len(pages) == 1 else later_cap):
            if not line:
                continue  # never start a slide with a paragraph gap
            pages.append([])
        pages[-1].append(line)
    pages = pages or [[]]

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    footer_line = _fit(footer_face, footer, text_w)
    for number, lines in enumerate(pages, start=1):
        img = Image.new("RGB", (WIDTH, HEIGHT), BG)
        draw = ImageDraw.Draw(img)
        band = BAND[bool(emergency)]
        draw.rectangle((0, 0, WIDTH, BAND_H), fill=band)
        label_baseline = BAND_H // 2 + int(LABEL_SIZE * 0.36)
        label_face.draw(draw, MARGIN, label_baseline, priority_label.strip(), TEXT)
        if len(pages) > 1:
            marker = f"{number}/{len(pages)}"
            label_face.draw(draw, WIDTH - MARGIN - label_face.length(marker), label_baseline, marker, TEXT)
        tface, tlines = (title_face, title_lines) if number == 1 else (short_face, short_title)
        y = BAND_H + 40
        for line in tlines:
            y += tface.pitch()
            tface.draw(draw, MARGIN, y - tface.pitch() // 4, line, TITLE)
        y += 24 if tlines else 0
        for line in lines:
            y += body_face.pitch()
            body_face.draw(draw, MARGIN, y - body_face.pitch() // 4, line, TEXT)
        draw.rectangle((0, HEIGHT - FOOTER_H, WIDTH, HEIGHT), fill=FOOTER_BG)
        footer_baseline = HEIGHT - FOOTER_H // 2 + int(FOOTER_SIZE * 0.36)
        footer_face.draw(draw, MARGIN, footer_baseline, footer_line, FOOTER_TEXT)
        if emergency:
            draw.rectangle((0, 0, WIDTH - 1, HEIGHT - 1), outline=band, width=14)
        path = out_dir / f"slide-{number:02d}.png"
        tmp = path.with_name(f".{path.name}.partial")
        img.save(tmp, format="PNG", optimize=False, compress_level=6)  # no text/time chunks: stable bytes
        os.replace(tmp, path)
        paths.append(path)
    return paths
