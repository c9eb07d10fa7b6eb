"""QR codes as PNG images or module matrices (segno: pure Python, no Pillow needed).

Slides and feed items carry the URL from
``domain.feedback.public_feedback_url(base_url, area_code, package_id)``: slides draw
:func:`qr_modules` at a whole number of pixels per module, the web app serves :func:`qr_png`.
"""

import io

import segno

MAX_URL_CHARS = 500


def _code(url: str) -> segno.QRCode:
    if not url or len(url) > MAX_URL_CHARS:
        raise ValueError(f"a QR code needs a URL of 1-{MAX_URL_CHARS} characters")
    return segno.make(url, error="m", micro=False, boost_error=True)


def qr_png(url: str, *, scale: int = 8, border: int = 2, dark: str = "#000000", light: str = "#ffffff") -> bytes:
    """A PNG of ``url`` as a QR code (error correction M or better, quiet zone of ``border`` modules).

    Raises:
        ValueError: empty or overlong URL, or a scale outside 1-40.
    """
    if not 1 <= scale <= 40:
        raise ValueError("scale must be 1-40 pixels per module")
    code = _code(url)
    buf = io.BytesIO()
    code.save(buf, kind="png", scale=scale, border=border, dark=dark, light=light)
    return buf.getvalue()


def qr_modules(url: str) -> list[list[bool]]:
    """The QR symbol of ``url`` as rows of modules (True: dark), without the quiet zone.

    Raises:
        ValueError: empty or overlong URL.
    """
    return [[bool(m) for m in row] for row in _code(url).matrix]
