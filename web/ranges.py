"""HTTP byte ranges (RFC 9110 §14) for stored audio and images: browsers seek audio with ``Range`` and
iPhones refuse to play audio from a server that does not answer it with 206."""

import re
from typing import Literal

from fastapi import Request
from fastapi.responses import Response

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | Literal[False]:
    """The inclusive ``(first, last)`` byte of a single-range ``Range`` header, ``None`` when the whole body
    should be sent (no header, a multi-range or malformed one), ``False`` when the range is unsatisfiable."""
    m = _RANGE.fullmatch((header or "").strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:  # a suffix: the last N bytes
        n = int(last)
        return (max(size - n, 0), size - 1) if n > 0 and size > 0 else False
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end


def ranged_response(request: Request, data: bytes, media_type: str, headers: dict[str, str] | None = None) -> Response:
    """``data`` whole (200) or the asked-for part (206 with Content-Range); 416 for a range past the end."""
    base = {"Accept-Ranges": "bytes", **(headers or {})}
    span = byte_range(request.headers.get("range"), len(data))
    if span is None:
        return Response(data, media_type=media_type, headers=base)
    if span is False:
        return Response(status_code=416, headers={**base, "Content-Range": f"bytes */{len(data)}"})
    first, last = span
    return Response(data[first:last + 1], status_code=206, media_type=media_type,
                    headers={**base, "Content-Range": f"bytes {first}-{last}/{len(data)}"})
