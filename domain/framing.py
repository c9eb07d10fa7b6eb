"""Who speaks and how: the station named in the opening, and the key instruction of an emergency (pure).

A loudspeaker bulletin opens with the station of the area it is played in ("Đài Truyền thanh xã Châu Thành
thông báo"), not a generic "Đài Truyền thanh": listeners trust and recognise their own station. The name is
derived from the area's name unless the area has one configured (some stations are shared or renamed).
An emergency repeats its key instruction, the first sentence that tells residents what to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from domain.areas import Area
from domain.errors import InvalidInput

DEFAULT_STATION = "Đài Truyền thanh"
STATION_PREFIX = "Đài Truyền thanh"
_LEVEL_WORDS = ("Thị trấn", "Đặc khu", "Thành phố", "Xã", "Phường", "Huyện", "Quận", "Thị xã", "Tỉnh")
# Words that tell residents to act; orders are preferred for the repeated key over requests and advice.
_STRONG = re.compile(r"(?<!\w)(?:yêu cầu|khẩn trương|nghiêm cấm|tuyệt đối|cấm|gọi ngay|báo ngay|không được|"
                     r"phải)(?!\w)", re.I)
_INSTRUCTION = re.compile(r"(?<!\w)(?:đề nghị|hãy|cần|chủ động|liên hệ|di dời|sơ tán)(?!\w)", re.I)
MAX_STATION_CHARS = 120
# "Đài ... thông báo: Thông báo lịch tiêm" says "announces" twice: the frame already says it.
_ANNOUNCE = re.compile(r"^thông\s+báo(?:\s+khẩn(?:\s+cấp)?)?(?:\s+về\s+việc|\s+v/v)?[\s:,.-]+", re.I)


def spoken_title(title: str) -> str:
    """The title as the frame reads it after "<station> thông báo:": a leading "Thông báo" (or "Thông báo khẩn",
    "Thông báo về việc") is not said twice. A title that is nothing more than those words stays as it is."""
    title = " ".join(title.split()).rstrip(". ")
    rest = _ANNOUNCE.sub("", title, count=1)
    if rest == title or len(rest.split()) < 2:
        return title
    return rest[0].upper() + rest[1:]


def station_of(area: Area) -> str:
    """The station of an area by its name: "Xã Châu Thành" → "Đài Truyền thanh xã Châu Thành"."""
    name = " ".join(area.name.split())
    for word in _LEVEL_WORDS:
        if name.startswith(word + " "):
            name = word.lower() + name[len(word):]
            break
    return f"{STATION_PREFIX} {name}"


def announcer_for(areas: Sequence[Area], stations: Mapping[str, str], *, fallback: str = "") -> str:
    """Who announces: the configured or derived station of a single target area; for several areas the
    ``fallback`` (the requesting unit) or the generic station."""
    if len(areas) == 1:
        area = areas[0]
        return stations.get(area.code) or station_of(area)
    return fallback or DEFAULT_STATION


def key_instruction(sentences: Sequence[str]) -> str:
    """The sentence to repeat at the end of an emergency: the first strong instruction, else the first
    instruction, else the first sentence ("" for no sentences)."""
    for pattern in (_STRONG, _INSTRUCTION):
        found = next((s for s in sentences if pattern.search(s)), None)
        if found:
            return found
    return sentences[0] if sentences else ""


def is_order(sentence: str) -> bool:
    """Whether a sentence orders residents to act (yêu cầu, khẩn trương, nghiêm cấm, phải...)."""
    return _STRONG.search(sentence) is not None


def validate_station(name: str) -> str:
    """A configured station name: one line, not empty, at most MAX_STATION_CHARS."""
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_STATION_CHARS:
        raise InvalidInput(f"a station name is one line of 1 to {MAX_STATION_CHARS} characters")
    return clean
