"""The feedback QR code panel on e-board slides: where it goes and how it is drawn.

The panel sits at the bottom right, above the footer: a two-line caption over a white square holding the
code and its 4-module quiet zone (ISO/IEC 18004), drawn at a whole number of pixels per module so every
module edge is sharp. At 320 px that is about 19 cm on a 55-inch board: a phone reads it from 2 m.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from engines import qr as qr_codes
from engines.errors import RenderError

QR_BOX, QR_QUIET, QR_GAP = 320, 4, 48  # largest white square; quiet zone in modules; gap to the body column
QR_CAPTION = ("Quét mã QR", "để gửi phản ánh")
QR_CAPTION_SIZE = 34
MIN_MODULE_PX = 3


@dataclass(frozen=True)
class QrPlace:
    """Where the feedback QR code goes: its white square (quiet zone included) and the caption above it."""

    url: str
    x: int
    y: int
    size: int  # side of the white square in pixels
    module: int  # pixels per module
    caption_top: int  # the panel (caption and code) spans caption_top..y + size, up to the right margin


def place(url: str, *, right: int, bottom: int, caption_pitch: int) -> QrPlace:
    """Put the code of ``url`` with its lower right corner at (``right``, ``bottom``).

    Raises:
        RenderError: the URL is too long for a code a passer-by can scan at this size.
    """
    try:
        modules = len(qr_codes.qr_modules(url)) + 2 * QR_QUIET
    except ValueError as exc:
        raise RenderError(f"feedback link cannot be a QR code: {exc}") from exc
    module = QR_BOX // modules
    if module < MIN_MODULE_PX:
        raise RenderError("the feedback link is too long for a QR code a passer-by can scan")
    size = module * modules
    y = bottom - size
    return QrPlace(url=url, x=right - size, y=y, size=size, module=module,
                   caption_top=y - 12 - len(QR_CAPTION) * caption_pitch)


def draw(img: Image.Image, canvas: ImageDraw.ImageDraw, where: QrPlace, caption_face: Any,
         colour: tuple[int, int, int]) -> None:
    """Draw the caption (right-aligned, with ``caption_face``: a slides face) and the code."""
    rows = qr_codes.qr_modules(where.url)
    n = len(rows) + 2 * QR_QUIET
    quiet = [False] * QR_QUIET
    padded = [[False] * n] * QR_QUIET + [quiet + row + quiet for row in rows] + [[False] * n] * QR_QUIET
    symbol = Image.new("L", (n, n))
    symbol.putdata([0 if dark else 255 for row in padded for dark in row])
    img.paste(symbol.resize((where.size, where.size), Image.Resampling.NEAREST).convert("RGB"), (where.x, where.y))
    right = where.x + where.size
    pitch = caption_face.pitch()
    for number, line in enumerate(QR_CAPTION, start=1):
        baseline = where.caption_top + number * pitch - pitch // 4
        caption_face.draw(canvas, right - caption_face.length(line), baseline, line, colour)
