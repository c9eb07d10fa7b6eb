"""Vietnamese text normalization for speech: what an announcer reads aloud, ready for espeak-ng.

espeak-ng reads "UBND" as letters, "7h30" as gibberish and "1.000.000" as three numbers, so the
script is rewritten into words first. The passes run in a fixed order, most specific first, and each
one leaves only words behind, which is why a second run changes nothing:

0. Web and e-mail addresses are read as their host, spelled (``https://travinh.gov.vn/tin-tuc`` →
   ``travinh chấm gov chấm vn``), see :mod:`engines.spoken_tokens`.
1. ``ĐT``/``QL`` context: ``ĐT`` before a phone number is *điện thoại*, before a short number it is
   *đường tỉnh* (provincial road); ``QL`` before a number is *quốc lộ*.
2. Phone numbers (a leading ``0`` or ``+84``, 10-11 digits, optionally grouped by spaces, dots or
   hyphens) are read digit by digit, one comma-separated group per written group, so espeak pauses
   where the writer did: ``0294 3870 115`` → ``không hai chín bốn, ba tám bảy không, một một năm``.
   An ungrouped number is grouped 4-3-3 (10 digits) or 4-4-3 (11 digits). Service numbers (``1800``,
   ``1900`` and 4 or 6 more digits: ``1900 1234``, ``1800 599 920``) are read digit by digit too.
3. Document numbers ``215/KH-UBND`` or ``45/2026/NĐ-CP`` become ``số hai trăm mười lăm, kế hoạch,
   Ủy ban nhân dân`` (``số`` is not repeated when the text already says it; a year part is read
   ``năm ...``; unknown codes are kept as written). A comma closes the number if the sentence goes on.
4. Acronyms from a data file (``prompts/speech/acronyms.tsv``, extended per installation through
   ``BANTIN_SPEECH_ACRONYMS``, see :mod:`engines.speech_acronyms`): ``CNTT-VT`` → *công nghệ thông tin -
   viễn thông*, ``TT&TT`` → *Thông tin và Truyền thông*. Whole words and case-sensitive: ``TPBank``,
   ``tp`` and ``HTTP`` are untouched; ``TPHCM``/``TP.HCM`` are *thành phố Hồ Chí Minh*; ``TT.`` is
   *thị trấn* only with its dot and a capitalised name after it.
5. Dates: ``5/12/2026`` (also ``05-12-2026``, ``05.12.2026``) → ``ngày năm tháng mười hai năm hai
   nghìn ...``; ``5/12``; ``12/2026`` → ``tháng mười hai năm ...``; a ``ngày``/``tháng`` already
   written before the number is not repeated. Ranges ``5-7/12`` and ``5/12 - 7/12/2026`` read ``từ
   ngày năm đến ngày bảy tháng mười hai``, leaving out a ``từ``/``ngày`` the text already has; a
   year written once at the end is read once, at the end. Month 4 is ``tư``. A bare ``d/m`` is a
   date whenever it is a valid one (announcements write fractions in words); a slash between
   numbers that is not a valid date reads ``trên`` (``15/40 hộ``).
   Before dates: Roman numerals after a heading or period word (``Phần II``, ``Quý III/2026``) and
   at the start of a heading line (``II. Nội dung``); ordinals and weekdays (``thứ 4`` → ``thứ tư``,
   ``Thứ 2 - Thứ 6`` → ``Thứ hai đến thứ sáu``).
6. Number ranges ``20-25`` and ``7h-11h`` read ``đến``; a minus glued to a number reads ``âm``;
   ``3G/4G`` reads ``ba G, bốn G``.
7. Times ``7h``, ``7h30``, ``07:30``, ``16:58:00`` → ``bảy giờ ba mươi phút`` (``:00``/``h00`` add
   nothing; seconds read ``giây``).
   Times already written with ``giờ`` only get their numbers read.
8. Units after a number (km, m, cm, mm, kg, g, ha, m2/m², m3/m³, km/h, °C/oC, %, ‰, đ/VNĐ/đồng ...);
   a price per unit reads ``một`` (``đồng/kg`` → ``đồng một ki lô gam``), other rates ``trên``.
9. All other numbers: ``1.000.000`` (dots group thousands; so do commas in ``413,713`` and
   ``1,234,567``, except one group before a scale word: ``1,125 tỷ``), ``2,5`` (comma decimals), a
   dot that does not group thousands reads ``chấm``; digit strings of three or more starting with ``0`` are
   codes and read digit by digit, ``05`` reads ``năm``. Numbers glued to Latin letters (``H5N1``)
   are left alone.

Only ASCII digits count as numbers (``\\d`` would also take Arabic-Indic digits). Punctuation is kept
so espeak pauses, nothing but the scheme and path of a web address is dropped, and text is NFC in and out.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import cast

from domain.speech import estimate_speech_seconds
from engines import spoken_tokens as tokens
from engines.speech_acronyms import Acronyms, default_acronyms, load_acronyms
from engines.vi_numbers import decimal_to_words, number_to_words, read_digits

__all__ = ["ABBREVIATIONS", "estimate_spoken_seconds", "normalize_for_speech"]

# The shipped acronym list (prompts/speech/acronyms.tsv); an installation's file is added over it.
SHIPPED_ACRONYMS: Acronyms = load_acronyms()
ABBREVIATIONS: Mapping[str, str] = SHIPPED_ACRONYMS.words
UNIT_WORDS: dict[str, str] = {
    "km/h": "ki lô mét trên giờ",
    "m/s": "mét trên giây",
    "km²": "ki lô mét vuông",
    "km2": "ki lô mét vuông",
    "m²": "mét vuông",
    "m2": "mét vuông",
    "m³": "mét khối",
    "m3": "mét khối",
    "km": "ki lô mét",
    "cm": "xăng ti mét",
    "mm": "mi li mét",
    "ml": "mi li lít",
    "kg": "ki lô gam",
    "ha": "héc ta",
    "m": "mét",
    "g": "gam",
    "°C": "độ xê",
    "℃": "độ xê",
    "oC": "độ xê",
    "°": "độ",
    "%": "phần trăm",
    "‰": "phần nghìn",
    "VNĐ": "đồng",
    "VND": "đồng",
    "đồng": "đồng",
    "đ": "đồng",
    "tấn": "tấn",
    "tạ": "tạ",
    "lít": "lít",
}
_MONEY = frozenset({"VNĐ", "VND", "đồng", "đ"})
_PER_WORDS = ("người", "hộ", "ngày", "tháng", "năm", "giờ", "con", "lần", "sào", "suất", "tấn", "lít", "kg", "ha")

_NUM = r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?|[0-9]+(?:,[0-9]+)?"
_START = r"(?<![\w.,/])"  # a number not glued to a word, a decimal or a slash
_END = r"(?![\w/]|[.,][0-9])"
_DATE = r"([0-9]{1,2})/([0-9]{1,2})(?:/([0-9]{4}))?"


def _alternation(words: list[str]) -> str:
    # Longest first, so "m2" wins over "m" and "MTTQVN" over "MTTQ".
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_PHONE_WORD_RE = re.compile(r"(?<!\w)ĐT(?=\s*[:.]?\s*(?:\+84|0)[0-9])")
_ROAD_RE = re.compile(r"(?<!\w)(ĐT|QL)\s*(?=[1-9][0-9]{0,3}(?![0-9]))")
# Service numbers (1800 free, 1900 paid): 8 or 10 digits, read digit by digit like a phone number.
_SERVICE_RE = re.compile(r"(?<![\w.,/+])(1[89]00)((?:[ .-]?[0-9]{2,4}){1,2})(?![0-9]|[.,][0-9])")
_PHONE_RE = re.compile(r"(?<![\w.,/+])(\+84[ .]?|0)([0-9]{1,10}(?:[ .-][0-9]{2,4}){0,3})(?![0-9/]|[.,][0-9])")
_CODE = r"[A-ZĐ][A-Za-zĐđ]{0,7}"  # KH, QĐ, TTr, UBND ...
_DOC_RE = re.compile(rf"(?<![\w/.,])([0-9]+)(?:/([0-9]{{4}}))?/({_CODE}(?:[-–]{_CODE})*)(?!\w)")
_HCM_RE = re.compile(r"(?<!\w)(?:TP|Tp)\.?\s?HCM(?!\w)")
_AMP_RE = re.compile(r"(?<=\w)\s*&\s*(?=\w)")
_PLACE_RE = re.compile(r"(?<!\w)(TP|Tp|TX|Tx|TT)(?:(\.)\s*(?=\w)|(?!\w))")
_FULL_RANGE_RE = re.compile(rf"{_START}([0-9]{{1,2}})/([0-9]{{1,2}})\s*[-–]\s*{_DATE}{_END}")
_DAY_RANGE_RE = re.compile(rf"{_START}([0-9]{{1,2}})\s*[-–]\s*{_DATE}{_END}")
_DATE_RE = re.compile(rf"{_START}{_DATE}{_END}")
_DASHED_DATE_RE = re.compile(rf"{_START}([0-9]{{1,2}})([-.])([0-9]{{1,2}})\2([0-9]{{4}}){_END}")
_MONTH_YEAR_RE = re.compile(rf"{_START}([0-9]{{1,2}})/([0-9]{{4}}){_END}")
_APRIL_RE = re.compile(r"(?<!\w)([Tt]háng)\s+0?4(?![\w/.,])")
_RATIO_RE = re.compile(r"(?<=[0-9])/(?=[0-9])")
_RANGE_RE = re.compile(r"([0-9][hH]?)\s*[-–]\s*(?=[0-9])")
_MINUS_RE = re.compile(r"(?<![\w)\]])[-−](?=[0-9])")
_TIME_RE = re.compile(
    r"(?<![\w.,:])([0-9]{1,2})(?:[hH]([0-9]{2})?|:([0-9]{2})(?::([0-9]{2}))?)(?![\w:]|[.,][0-9])"
)
_GENERATIONS_RE = re.compile(r"(?<![\w.,])([2-6]G)/(?=[2-6]G(?!\w))")
# "413,713" or "1,234,567": thousands grouped with commas, as counters on web pages print them. One group
# before a scale word is a decimal ("1,125 tỷ"), as Vietnamese writes it.
_COMMA_THOUSANDS_RE = re.compile(
    r"(?<![\w.,])[1-9][0-9]{0,2}(?:(?:,[0-9]{3}){2,}|,[0-9]{3}(?!\s*(?:nghìn|ngàn|triệu|tỷ|tỉ)\b))(?![0-9]|[.,][0-9])"
)
_UNIT_RE = re.compile(
    rf"(?<![\w.,])({_NUM})\s?({_alternation(list(UNIT_WORDS))})"
    rf"(?:/({_alternation(list(UNIT_WORDS) + list(_PER_WORDS))}))?(?!\w)"
)
_NUMBER_RE = re.compile(r"(?<![\w.,])([0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?(?![0-9])|[0-9]+(?:[.,][0-9]+)?)")
_SPACES_RE = re.compile(r"[ \t]{2,}")


def _before(match: re.Match[str], width: int = 12) -> str:
    """The lowercased text just before a match, without trailing spaces, to spot words already there."""
    return match.string[max(0, match.start() - width) : match.start()].lower().rstrip()


def _ends_with_word(before: str, word: str) -> bool:
    # "ngày" must be a whole word: "hàngngày" glued is not a hit.
    return before.endswith(word) and (len(before) == len(word) or not before[-len(word) - 1].isalnum())


def _int(text: str) -> str:
    return number_to_words(int(text))


def _phone(match: re.Match[str]) -> str:
    prefix, body = match.group(1), match.group(2)
    national = prefix == "0"
    groups = re.split(r"[ .-]", body)
    # A greedy match may swallow a following number ("0294 3870 115 15 hộ"): give back whole groups.
    # The "0" or the "+84" counts as the one leading digit of a 10-11 digit Vietnamese number.
    while len(groups) > 1 and 1 + len("".join(groups)) > 11:
        groups.pop()
    if not 10 <= 1 + len("".join(groups)) <= 11:
        return match.group(0)
    rest = body[sum(len(g) for g in groups) + len(groups) - 1 :]
    if national:
        groups[0] = "0" + groups[0]
    if len(groups) == 1:
        # Written without spaces: pause where people group it (0912 345 678, 0294 3870 115).
        cut = 4 if national else 3
        solid = groups[0]
        groups = [solid[:cut], solid[cut:-3], solid[-3:]]
    words = ", ".join(read_digits(g) for g in groups)
    return ("" if national else "cộng tám bốn, ") + words + rest


def _service_number(match: re.Match[str]) -> str:
    prefix, rest = match.group(1), match.group(2)
    groups = [g for g in re.split(r"[ .-]", rest) if g]
    digits = "".join(groups)
    if len(prefix) + len(digits) not in (8, 10):
        return match.group(0)  # "1900 ha" is a year and a number, not a hotline
    if len(groups) == 1 and len(digits) == 6:
        groups = [digits[:3], digits[3:]]  # 1800599920 is said "1800, 599, 920"
    return ", ".join(read_digits(g) for g in [prefix, *groups])


def _document(codes: Mapping[str, str], match: re.Match[str]) -> str:
    number, year, _ = match.groups()
    head = "" if _ends_with_word(_before(match), "số") else "số "
    head += _int(number)
    if year:
        head += " năm " + _int(year)
    parts = [head] + [codes.get(code, code) for code in re.split(r"[-–]", match.group(3))]
    tail = match.string[match.end() : match.end() + 2]
    # Close the number with a pause when the sentence carries on ("... Ủy ban nhân dân, ngày ...").
    closing = "," if len(tail) == 2 and tail[0] == " " and tail[1].isalnum() else ""
    return ", ".join(parts) + closing


def _place(match: re.Match[str]) -> str:
    code, dot = match.group(1), match.group(2)
    following = match.string[match.end() : match.end() + 1]
    if code == "TT" and not (dot and following.isupper()):
        return match.group(0)  # bare "TT" is too ambiguous (thông tư, trung tâm, thứ tự)
    word = "thành phố" if code in ("TP", "Tp") else "thị xã" if code in ("TX", "Tx") else "thị trấn"
    return word + " " if dot else word


def _valid_date(day: str, month: str) -> bool:
    return 1 <= int(day) <= 31 and 1 <= int(month) <= 12


def _month(month: str) -> str:
    # The fourth month is always "tháng tư", never "tháng bốn".
    return "tư" if int(month) == 4 else _int(month)


def _day_month_year(day: str, month: str, year: str | None) -> str:
    words = f"{_int(day)} tháng {_month(month)}"
    return words + (f" năm {_int(year)}" if year else "")


def _range_words(match: re.Match[str], first: str, second: str) -> str:
    before = _before(match, 16)
    if _ends_with_word(before, "từ ngày") or _ends_with_word(before, "ngày"):
        return f"{first} đến ngày {second}"
    if _ends_with_word(before, "từ"):
        return f"ngày {first} đến ngày {second}"
    return f"từ ngày {first} đến ngày {second}"


def _full_range(match: re.Match[str]) -> str:
    d1, m1, d2, m2, year = match.groups()
    if not (_valid_date(d1, m1) and _valid_date(d2, m2)):
        return match.group(0)
    # The year written once at the end covers both dates; say it once, at the end, too.
    first = _day_month_year(d1, m1, None) if m1 != m2 else _int(d1)
    return _range_words(match, first, _day_month_year(d2, m2, year))


def _day_range(match: re.Match[str]) -> str:
    d1, d2, month, year = match.groups()
    if not (_valid_date(d1, month) and _valid_date(d2, month)):
        return match.group(0)
    return _range_words(match, _int(d1), _day_month_year(d2, month, year))


def _date(match: re.Match[str]) -> str:
    if len(match.groups()) == 4:  # 05-12-2026 or 05.12.2026
        day, _, month, year = match.groups()
    else:
        day, month, year = match.groups()
    if not _valid_date(day, month):
        return match.group(0)
    prefix = "" if _ends_with_word(_before(match), "ngày") else "ngày "
    return prefix + _day_month_year(day, month, year)


def _month_year(match: re.Match[str]) -> str:
    month, year = match.groups()
    if not 1 <= int(month) <= 12:
        return match.group(0)
    prefix = "" if _ends_with_word(_before(match), "tháng") else "tháng "
    return f"{prefix}{_month(month)} năm {_int(year)}"


def _time(match: re.Match[str]) -> str:
    hour, minute, second = match.group(1), match.group(2) or match.group(3), match.group(4)
    if int(hour) > 24 or (minute is not None and int(minute) > 59) or (second is not None and int(second) > 59):
        return match.group(0)
    words = f"{_int(hour)} giờ"
    if minute is not None and (int(minute) or (second is not None and int(second))):
        words += f" {_int(minute)} phút"
    if second is not None and int(second):
        words += f" {_int(second)} giây"
    return words


def _number(text: str) -> str:
    if text.isdigit() and len(text) >= 3 and text.startswith("0"):
        return read_digits(text)  # a code such as an area code, where every zero is spoken
    if "." in text and not re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?", text):
        return " chấm ".join(_number(part) for part in text.split("."))
    return decimal_to_words(text)


def _unit(match: re.Match[str]) -> str:
    number, unit, per = match.groups()
    words = f"{_number(number)} {UNIT_WORDS[unit]}"
    if per:
        words += (" một " if unit in _MONEY else " trên ") + UNIT_WORDS.get(per, per)
    return words


def _plain_number(match: re.Match[str]) -> str:
    following = match.string[match.end() : match.end() + 1]
    # "QL1A" → "quốc lộ một A": keep a glued letter as its own word.
    return _number(match.group(1)) + (" " if following.isalpha() else "")


Pass = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]


def _passes(acronyms: Acronyms) -> tuple[Pass, ...]:
    cached = acronyms._cache.get("passes")
    if cached is None:
        words = acronyms.words
        abbreviations = re.compile(rf"(?<!\w)(?:{_alternation(list(words))})(?!\w)") if words else None
        cached = (
            (tokens.EMAIL_RE, tokens.email),
            (tokens.URL_RE, tokens.url),
            (_PHONE_WORD_RE, "điện thoại"),
            (_ROAD_RE, lambda m: "đường tỉnh " if m.group(1) == "ĐT" else "quốc lộ "),
            (_PHONE_RE, _phone),
            (_SERVICE_RE, _service_number),
            (_DOC_RE, functools.partial(_document, acronyms.doc_codes)),
            (_HCM_RE, "thành phố Hồ Chí Minh"),
            *([(abbreviations, lambda m: words[m.group(0)])] if abbreviations else []),
            (_AMP_RE, " và "),
            (_PLACE_RE, _place),
            (tokens.ROMAN_RE, tokens.roman),
            (tokens.ROMAN_HEADING_RE, tokens.roman_heading),
            (tokens.ORDINAL_RE, tokens.weekday_or_ordinal),
            (_FULL_RANGE_RE, _full_range),
            (_DAY_RANGE_RE, _day_range),
            (_DATE_RE, _date),
            (_DASHED_DATE_RE, _date),
            (_MONTH_YEAR_RE, _month_year),
            (_APRIL_RE, r"\1 tư"),
            (_GENERATIONS_RE, r"\1, "),
            (_RATIO_RE, " trên "),
            (_RANGE_RE, r"\1 đến "),
            (_MINUS_RE, "âm "),
            (_TIME_RE, _time),
            (_COMMA_THOUSANDS_RE, lambda m: m.group(0).replace(",", ".")),
            (_UNIT_RE, _unit),
            (_NUMBER_RE, _plain_number),
            (_SPACES_RE, " "),
        )
        acronyms._cache["passes"] = cached
    return cast(tuple[Pass, ...], cached)  # the cache holds objects of several kinds


def normalize_for_speech(text: str, acronyms: Acronyms | None = None) -> str:
    """Rewrite written Vietnamese into the words an announcer reads aloud.

    Abbreviations, document numbers, phone numbers, dates, times, units and numbers become words
    (see the module docstring for each rule); punctuation stays so espeak-ng pauses where a reader
    would. Pure and deterministic, and a second run leaves the result unchanged.

    Args:
        text: A bulletin script in any Unicode normal form.
        acronyms: The acronyms to read as words; default the installation's (``BANTIN_SPEECH_ACRONYMS`` over
            ``prompts/speech/acronyms.tsv``).

    Returns:
        The spoken form, NFC-normalised.
    """
    result = unicodedata.normalize("NFC", text)
    for pattern, replacement in _passes(acronyms or default_acronyms()):
        result = pattern.sub(replacement, result)
    return unicodedata.normalize("NFC", result)


def estimate_spoken_seconds(text: str, acronyms: Acronyms | None = None) -> float:
    """Reading time of ``text`` as the voice will say it: estimated on the normalised words, since
    "0294 3870 115" is four tokens written and eleven syllables spoken.

    Args:
        text: A script as written.
        acronyms: As for :func:`normalize_for_speech`.

    Returns:
        :func:`domain.speech.estimate_speech_seconds` of :func:`normalize_for_speech` of ``text``.
    """
    return estimate_speech_seconds(normalize_for_speech(text, acronyms))
