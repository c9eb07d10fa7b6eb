"""Spoken forms of tokens that are neither words nor plain numbers: web addresses, e-mail addresses,
Roman numerals and ordinals. Used by :mod:`engines.textnorm`, whose passes call these in a fixed order.

* Web addresses are read as their host, spelled with *chấm* (``https://travinh.gov.vn/tin-tuc`` →
  ``travinh chấm gov chấm vn``): a listener can note a site down, not a path. E-mail addresses are
  spelled the same way around *a còng*.
* Roman numerals I-XXXIX are numbers after a heading or period word (``Phần II``, ``Quý III/2026``,
  ``Khóa XV``, ``lần thứ XIII``) and at the start of a numbered heading line (``II. Nội dung``);
  anywhere else a capital letter stays a letter (``Vitamin C``, ``hạng C``).
* Ordinals after *thứ* read *nhất* and *tư* (``thứ 4`` → ``thứ tư``), ranks after *hạng* read
  *nhất* and *nhì*; weekday ranges read *đến* (``Thứ 2 - Thứ 6`` → ``Thứ hai đến thứ sáu``).
"""

from __future__ import annotations

import re

from engines.vi_numbers import number_to_words

_HOST = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.(?:vn|com|net|org|gov|edu|info|int)"
EMAIL_RE = re.compile(rf"(?<![\w.@])([a-z0-9][a-z0-9._+-]*)@({_HOST})(?![\w@-])", re.IGNORECASE)
URL_RE = re.compile(
    rf"(?<![\w@./-])(?:https?://)?(?:www\.)?({_HOST})(?::[0-9]+)?(?:/[^\s]*[^\s.,;:!?)\]\"'])?(?![\w@-])",
    re.IGNORECASE,
)
# I to XXXIX only: C, D, L and M alone are letters far more often (bằng lái hạng C, nhóm D).
_ROMAN = r"X{0,3}(?:IX|IV|V?I{0,3})"
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
# Words after which a Roman numeral is a number: headings (Phần II), periods (Quý III), terms (Khóa XV),
# flood and tide alert levels (báo động III).
_ROMAN_AFTER = (
    "phần|chương|mục|tiểu mục|phụ lục|quý|khóa|khoá|đại hội|kỳ|kì|tập|bài|đợt|giai đoạn|vòng|cấp|hạng|"
    "thế kỷ|thế kỉ|thứ|loại|vùng|khu vực|báo động|cấp độ"
)
ROMAN_RE = re.compile(rf"(?<!\w)((?i:{_ROMAN_AFTER})\s+)({_ROMAN})(?:/([0-9]{{4}}))?(?![\w/])")
# A heading numbered at the start of a line: "II. Nội dung", "IV) Tổ chức thực hiện".
ROMAN_HEADING_RE = re.compile(r"^([ \t]*)([IVX]{1,6})(?=[.)][ \t])", re.MULTILINE)
ORDINAL_RE = re.compile(
    r"(?<!\w)([Tt]hứ)\s*([1-9][0-9]?)(?:\s*[-–]\s*(?:[Tt]hứ\s*)?([1-9][0-9]?|CN))?(?![\w/.,:]|[.,][0-9])"
)


def _spell_host(host: str) -> str:
    # travinh.gov.vn -> "travinh chấm gov chấm vn": the address a listener can note down, without scheme/path.
    host = host.lower().removeprefix("www.")
    return " chấm ".join(part.replace("-", " ") for part in host.split("."))


def url(match: re.Match[str]) -> str:
    """A web address as its host, spelled: the scheme, ``www.`` and the path are not read."""
    return _spell_host(match.group(1))


def email(match: re.Match[str]) -> str:
    local = re.sub(r"[._+-]", lambda m: {".": " chấm ", "_": " gạch dưới ", "+": " cộng ", "-": " gạch ngang "}
                   [m.group(0)], match.group(1).lower())
    return f"{local} a còng {_spell_host(match.group(2))}"


def _roman_value(numeral: str) -> int:
    values = [_ROMAN_VALUES[ch] for ch in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _ordinal(n: int, word: str) -> str:
    # "thứ nhất", "thứ tư" (not "thứ một", "thứ bốn"); "hạng nhất", "hạng nhì" for ranks.
    if word == "thứ":
        return {1: "nhất", 4: "tư"}.get(n, number_to_words(n))
    if word == "hạng":
        return {1: "nhất", 2: "nhì"}.get(n, number_to_words(n))
    return number_to_words(n)


def roman(match: re.Match[str]) -> str:
    head, numeral, year = match.groups()
    if not numeral:
        return match.group(0)
    words = head + _ordinal(_roman_value(numeral), head.strip().lower())
    return words + (f" năm {number_to_words(int(year))}" if year else "")


def roman_heading(match: re.Match[str]) -> str:
    indent, numeral = match.groups()
    if not re.fullmatch(_ROMAN, numeral):
        return match.group(0)
    return indent + number_to_words(_roman_value(numeral)).capitalize()


def weekday_or_ordinal(match: re.Match[str]) -> str:
    word, first, second = match.groups()
    words = f"{word} {_ordinal(int(first), 'thứ')}"
    if second is None:
        return words
    return words + " đến " + ("chủ nhật" if second == "CN" else f"thứ {_ordinal(int(second), 'thứ')}")
