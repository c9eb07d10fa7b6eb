"""Faithfulness check: every fact a summary states must come from its source.

Generative summarisers (seq2seq, LLM) can invent a date, a phone number or a commune name; read out on
a commune loudspeaker that is worse than no bulletin. This module extracts the checkable facts of a
summary (numbers, document numbers, dates, times, phone numbers, proper names) and reports those the
source does not support. It is pure: no I/O and no models, only ``re`` and ``unicodedata``.

Matching is lenient about *form* ("05/12" = "ngày 5 tháng 12", "7h30" = "7 giờ 30", "1.250" = "1250",
case, spacing, old/new tone placement "Uỷ"/"Ủy") and strict about *content*: one different digit or
syllable is a violation. Extractive summaries copy source sentences, so they always pass; the leniency
keeps rephrased summaries from raising false alarms.

Name rule: a name is a run of capitalised syllables separated only by whitespace. A run that opens a
sentence (after ``.!?…:;``, a line break or the start) is ignored when it is one word ("Sau khi tiêm"),
and when longer it may drop its first word if that word is an ordinary word ("Tại Đa Lộc").
"""

import re
import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, cast

FactKind = Literal["number", "date", "time", "phone", "name"]

_KIND_VI: dict[str, str] = {"number": "số", "date": "ngày", "time": "giờ", "phone": "số điện thoại",
                            "name": "tên riêng"}
_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}  # huyền sắc ngã hỏi nặng
_SEP = r"\s*(?:,|và|đến|tới|-|–)\s*"
_DAY_WORD = r"(?:ngày|mùng|mồng)\s+"
_DOC = re.compile(r"(?<![\w/])\d+(?:/\d{2,4})?/[^\W\d_][\w]*(?:-\w+)*")
_PHONE = re.compile(r"(?<![\w.,/+])(?:\+84[ .]?|0)\d+(?:[ \t\n.\-]\d+)*")
_DATE_WORDS = re.compile(rf"{_DAY_WORD}(\d{{1,2}})((?:{_SEP}(?:{_DAY_WORD})?\d{{1,2}})*)\s+tháng\s+(\d{{1,2}})"
                         r"(?:\s*(?:năm\s+|/\s*)(\d{4}))?(?!\d)", re.I)
_MONTH_YEAR = re.compile(r"tháng\s+(\d{1,2})\s*(?:năm\s+|/\s*)(\d{4})(?!\d)", re.I)
# A comma is not a day separator here: "có 30, 5/12" must not become 30/12.
_DATE_SLASH = re.compile(r"(?<![\w.,/])(\d{1,2})((?:\s*(?:và|đến|tới|-|–)\s*\d{1,2})*)/(\d{1,2})(?:/(\d{2,4}))?"
                         r"(?![\w/])", re.I)
_DATE_DOTTED = re.compile(r"(?<![\w.,/])(\d{1,2})([.-])(\d{1,2})\2(\d{4})(?!\w|\.\d)")
_TIME_WORD = re.compile(r"(?<![\w.,:/])(\d{1,2})\s*giờ(?:\s*(\d{1,2})(?:\s*phút)?)?(?!\w)", re.I)
_TIME_SHORT = re.compile(r"(?<![\w.,:/])(\d{1,2})[hg](\d{2})?(?!\w)", re.I)  # no space: "5 g" is grams
_TIME_COLON = re.compile(r"(?<![\w.,:/])(\d{1,2}):(\d{2})(?![\d:])")
# "từ 7 đến 11 giờ": the first hour is a time too, though only the second carries the unit.
_TIME_HEAD = re.compile(r"(?<![\w.,:/])(\d{1,2})(?=\s*(?:-|–|đến|tới)\s*\d{1,2}\s*(?:giờ|[hg]\d{0,2})(?!\w))", re.I)
_PERIOD = re.compile(r"\s*(sáng|trưa|chiều|tối|đêm)(?!\w)", re.I)
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d{1,3}(?:,\d{3}){2,}|\d+(?:[.,]\d+)?)(?:\s?%)?(?!\d)")
_SCALE = re.compile(r"\s*(trăm|nghìn|ngàn|triệu|tỷ|tỉ)(?!\w)", re.I)
_SCALES = {"trăm": 100, "nghìn": 1000, "ngàn": 1000, "triệu": 10**6, "tỷ": 10**9, "tỉ": 10**9}
_NUMBER_WORD = re.compile(r"(?<!\w)(một|hai|ba|bốn|tư|năm|sáu|bảy|bẩy|tám|chín|mười)(?!\w)", re.I)
_WORD_VALUES = {"một": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "sáu": 6, "bảy": 7, "bẩy": 7,
                "tám": 8, "chín": 9, "mười": 10}
_NAME_WORD = re.compile(r"[^\W\d_]\w*(?:-\w+)*")
_ANY_WORD = re.compile(r"\w+(?:-\w+)*")
_SEGMENT_BREAK = re.compile(r"[^\w\s\-]+")
_DIGIT_CHAIN = re.compile(r"\+?\d[\d \t\n().\-]*\d")
_TRANSPARENT = frozenset(" \t\"'“”‘’«»([{*•–—-")  # skipped when looking back for a sentence start
_BOUNDARY = frozenset(".!?…:;\n")
# Words that often open a sentence in front of a name; "Tại Đa Lộc" is then checked as "Đa Lộc".
_OPENERS = frozenset({"tại", "ở", "theo", "từ", "sau", "trước", "khi", "các", "những", "mọi", "toàn", "vào",
                      "trong", "hôm", "nay", "đến", "cho", "để", "do", "ông", "bà", "anh", "chị", "kính",
                      "thưa", "đề", "thực", "riêng", "còn", "với", "về", "xã", "huyện", "tỉnh", "ấp"})


@dataclass(frozen=True)
class Fact:
    """One checkable fact of a summary, as written there (whitespace collapsed)."""

    kind: FactKind
    text: str


@dataclass(frozen=True)
class FaithfulnessReport:
    """Outcome of :func:`check_faithfulness`: ``ok`` exactly when nothing is ``missing``."""

    ok: bool
    missing: tuple[Fact, ...] = ()

    def reason(self) -> str:
        """One line, Vietnamese then English, naming every unsupported fact."""
        if self.ok:
            return "Tóm tắt khớp với bản gốc / summary is supported by the source."
        vi = ", ".join(f"{_KIND_VI[f.kind]} «{f.text}»" for f in self.missing)
        en = ", ".join(f"{f.kind} «{f.text}»" for f in self.missing)
        return (f"Tóm tắt có chi tiết không có trong bản gốc: {vi} / "
                f"summary states facts not found in the source: {en}.")


@dataclass(frozen=True)
class _Found:
    kind: FactKind
    text: str
    start: int
    end: int
    keys: frozenset[Hashable] = frozenset()
    tokens: tuple[str, ...] = ()  # names only: folded syllables
    initial: bool = False  # names only: the run opens a sentence


_DateKey = tuple[int | None, int | None, int | None]  # the keys of a date fact: (day, month, year)


@dataclass
class _Index:
    keys: dict[str, set[Hashable]] = field(default_factory=lambda: {k: set() for k in _KIND_VI})
    segments: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)  # digits of any digit run, whatever its punctuation
    flat: list[str] = field(default_factory=list)
    lower_words: set[str] = field(default_factory=set)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")


def fold_word(word: str) -> str:
    """Case- and tone-placement-insensitive key: "Uỷ" and "Ủy" (old and new style) are one syllable."""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    tones = "".join(_TONES[c] for c in decomposed if c in _TONES)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES)) + tones


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


def _num_key(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _number_value(raw: str) -> Decimal:
    digits = raw.rstrip("% ")
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", digits):  # Vietnamese: dots group, comma decimal
        return Decimal(digits.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(?:,\d{3}){2,}", digits):  # English grouping, unambiguous with 2+ groups
        return Decimal(digits.replace(",", ""))
    return Decimal(digits.replace(",", "."))


def _number_keys(value: Decimal, text: str, end: int) -> set[Hashable]:
    keys: set[Hashable] = {_num_key(value)}
    scale = _SCALE.match(text, end)
    if scale:  # "1,5 triệu" and "1.500.000" state the same amount
        keys.add(_num_key(value * _SCALES[scale.group(1).lower()]))
    return keys


def _time_keys(hour: int, minute: int, text: str, end: int) -> frozenset[Hashable]:
    period = _PERIOD.match(text, end)
    name = period.group(1).lower() if period else None
    if (name in ("chiều", "tối", "đêm") and hour < 12) or (name == "trưa" and hour < 6):
        return frozenset({(hour + 12, minute)})
    if name is None and 1 <= hour < 12:  # "7 giờ" alone may be 7:00 or 19:00
        return frozenset({(hour, minute), (hour + 12, minute)})
    return frozenset({(hour, minute)})


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    return int(raw) + 2000 if len(raw) <= 2 else int(raw)


class _Scanner:
    """Claims non-overlapping spans so digits of a date are not read again as loose numbers."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.taken = bytearray(len(text))
        self.found: list[_Found] = []

    def claim(self, kind: FactKind, start: int, end: int, keys: set[Hashable] | frozenset[Hashable],
              tokens: tuple[str, ...] = (), initial: bool = False) -> None:
        if any(self.taken[start:end]):
            return
        self.taken[start:end] = b"\x01" * (end - start)
        text = " ".join(self.text[start:end].split())
        self.found.append(_Found(kind, text, start, end, frozenset(keys), tokens, initial))

    def free(self, start: int, end: int) -> bool:
        return not any(self.taken[start:end])


def _dates(scan: _Scanner) -> None:
    text = scan.text
    for m in _DATE_WORDS.finditer(text):
        days = [int(m.group(1)), *map(int, re.findall(r"\d{1,2}", m.group(2)))]
        month, year = int(m.group(3)), _year(m.group(4))
        if 1 <= month <= 12 and all(1 <= d <= 31 for d in days):
            scan.claim("date", m.start(), m.end(), {(d, month, year) for d in days})
    for m in _MONTH_YEAR.finditer(text):
        if 1 <= int(m.group(1)) <= 12:
            scan.claim("date", m.start(), m.end(), {(None, int(m.group(1)), int(m.group(2)))})
    for m in _DATE_SLASH.finditer(text):
        days = [int(m.group(1)), *map(int, re.findall(r"\d{1,2}", m.group(2)))]
        month, year = int(m.group(3)), _year(m.group(4))
        if 1 <= month <= 12 and all(1 <= d <= 31 for d in days):
            scan.claim("date", m.start(), m.end(), {(d, month, year) for d in days})
    for m in _DATE_DOTTED.finditer(text):
        day, month = int(m.group(1)), int(m.group(3))
        if 1 <= month <= 12 and 1 <= day <= 31:
            scan.claim("date", m.start(), m.end(), {(day, month, int(m.group(4)))})


def _times(scan: _Scanner) -> None:
    text = scan.text
    for pattern in (_TIME_WORD, _TIME_SHORT, _TIME_COLON, _TIME_HEAD):
        for m in pattern.finditer(text):
            hour = int(m.group(1))
            minute = int(m.group(2)) if pattern is not _TIME_HEAD and m.group(2) else 0
            if hour <= 24 and minute < 60:
                scan.claim("time", m.start(), m.end(), _time_keys(hour, minute, text, m.end()))


def _phones(scan: _Scanner) -> None:
    for m in _PHONE.finditer(scan.text):
        raw = m.group()
        best_end, best = 0, ""
        digits = "0" if raw.startswith("+") else ""
        for group in re.finditer(r"\d+", raw):  # a phone is 9-11 digits; a following number is not part of it
            digits += group.group()[2:] if raw.startswith("+") and group.start() == 1 else group.group()
            if 9 <= len(digits) <= 11:
                best_end, best = group.end(), digits
        if best:
            scan.claim("phone", m.start(), m.start() + best_end, {best})


def _sentence_initial(text: str, start: int) -> bool:
    i = start
    while i > 0 and text[i - 1] in _TRANSPARENT:
        i -= 1
    return i == 0 or text[i - 1] in _BOUNDARY


def _names(scan: _Scanner) -> None:
    text = scan.text
    runs: list[list[re.Match[str]]] = [[]]
    for m in _NAME_WORD.finditer(text):
        capitalised = m.group()[0].isupper() and scan.free(m.start(), m.end())
        if not capitalised or (runs[-1] and not text[runs[-1][-1].end():m.start()].isspace()):
            runs.append([])
        if capitalised:
            runs[-1].append(m)
    for run in filter(None, runs):
        initial = _sentence_initial(text, run[0].start())
        if initial and len(run) == 1:  # "Sau khi tiêm": capital only because it opens the sentence
            continue
        tokens = tuple(fold_word(m.group()) for m in run)
        scan.claim("name", run[0].start(), run[-1].end(), frozenset(), tokens=tokens, initial=initial)


def _extract(text: str, *, names: bool) -> list[_Found]:
    scan = _Scanner(text)
    for m in _DOC.finditer(text):
        if m.group().split("/")[-1][0].isupper():  # "215/KH-UBND", "12/2026/NĐ-CP"
            scan.claim("number", m.start(), m.end(), {"doc:" + m.group().casefold()})
    _phones(scan)
    _dates(scan)
    _times(scan)
    if names:
        _names(scan)
    for m in _NUMBER.finditer(text):
        if scan.free(m.start(), m.end()):
            scan.claim("number", m.start(), m.end(), _number_keys(_number_value(m.group(1)), text, m.end()))
    return sorted(scan.found, key=lambda f: f.start)


def _add_to_index(index: _Index, text: str) -> None:
    for fact in _extract(text, names=False):
        if fact.kind == "date":
            for key in fact.keys:
                day, month, year = cast(_DateKey, key)
                index.keys["date"] |= {(day, month, year), (day, month, None), (None, month, year),
                                       (None, month, None)}
        else:
            index.keys[fact.kind] |= fact.keys
    # Digits inside dates, times and phones still support a loose number: "5" is in "5/12".
    index.keys["number"] |= {_num_key(Decimal(d)) for d in re.findall(r"\d+", text)}
    for m in _NUMBER_WORD.finditer(text):
        word = m.group(1).lower()
        if word == "năm" and re.match(r"\s*\d", text[m.end():]):  # "năm 2026" is a year, not five
            continue
        index.keys["number"] |= _number_keys(Decimal(_WORD_VALUES[word]), text, m.end())
    for chunk in _SEGMENT_BREAK.split(text):
        index.segments.append(" " + " ".join(fold_word(w) for w in _ANY_WORD.findall(chunk)) + " ")
    for m in _DIGIT_CHAIN.finditer(text):  # "(0294) 3870 115" still supports "0294 3870 115"
        chain = re.sub(r"\D", "", m.group())
        index.chains.append("0" + chain[2:] if m.group().startswith("+84") else chain)
    index.flat.append(_flat(text))
    index.lower_words |= {fold_word(w) for w in _NAME_WORD.findall(text) if w[0].islower()}


def _build_index(*texts: str) -> _Index:
    index = _Index()
    for text in texts:
        _add_to_index(index, text)
    # A source date without a year supports the same date with a year the source states elsewhere.
    years = {int(k) for k in index.keys["number"] if isinstance(k, str) and k.isdigit() and 1900 <= int(k) <= 2100}
    for key in list(index.keys["date"]):
        day, month, year = cast(_DateKey, key)
        if year is None:
            index.keys["date"] |= {(day, month, y) for y in years}
    return index


def _supported(fact: _Found, index: _Index, truncated_at: int | None) -> bool:
    if truncated_at is not None and fact.end == truncated_at:  # cut by "…": a prefix of a source fact
        return any(_flat(fact.text) in flat for flat in index.flat)
    if fact.kind == "name":
        key = " " + " ".join(fact.tokens) + " "
        if any(key in seg for seg in index.segments):
            return True
        rest = " " + " ".join(fact.tokens[1:]) + " "
        ordinary = fact.tokens[0] in _OPENERS or fact.tokens[0] in index.lower_words
        return fact.initial and ordinary and any(rest in seg for seg in index.segments)
    if fact.kind == "phone":
        return bool(fact.keys & (index.keys["phone"] | set(index.chains)))
    if fact.kind == "date":  # "ngày 5 và 8/12" needs both days; other kinds list alternative spellings
        return fact.keys <= index.keys["date"]
    return bool(fact.keys & index.keys[fact.kind])


_MONTH_NUMBER = re.compile(r"tháng\s+(\d{1,2})(?!\d)", re.I)


def lost_numbers(source: str, translation: str) -> tuple[str, ...]:
    """The digit groups of ``source`` that ``translation`` no longer contains: a dropped day, hour or phone.

    :func:`check_faithfulness` catches a translation that *adds* a fact; this catches one that *drops*
    one, which machine translation does on long sentences. Translations keep digits (Khmer may use Khmer
    digits, compared by value) but may name a month in words ("tháng 12" is "ខែធ្នូ"), so month numbers
    are exempt. Digits are compared on the translation's digits run together, without leading zeros, so
    "0294 3870 115" may come back as one group and "05/12" as "5/12".

    Returns:
        Each lost group once, as written in the source, in order.
    """
    source = _normalise(source)
    months = {m.start(1) for m in _MONTH_NUMBER.finditer(source)}
    kept = "".join(str(unicodedata.digit(ch)) for ch in _normalise(translation) if ch.isdecimal())
    lost: list[str] = []
    for m in re.finditer(r"\d+", source):
        key = "".join(str(unicodedata.digit(ch)) for ch in m.group()).lstrip("0") or "0"
        if m.start() not in months and key not in kept and m.group() not in lost:
            lost.append(m.group())
    return tuple(lost)


def extract_facts(text: str) -> tuple[Fact, ...]:
    """The checkable facts of ``text`` (numbers, dates, times, phones, names), in order of appearance."""
    return tuple(Fact(f.kind, f.text) for f in _extract(_normalise(text), names=True))


def check_faithfulness(summary: str, source: str, *, allowed_extra: str = "") -> FaithfulnessReport:
    """Report the numbers, dates, times, phone numbers and proper names of ``summary`` not in ``source``.

    Args:
        summary: The generated text (loudspeaker script or board text, possibly wrapped in lines).
        source: The editor's announcement the summary was made from.
        allowed_extra: Text the system itself adds around the summary (greeting frame, title, announcer
            name); its facts are allowed too.

    Returns:
        The report; ``missing`` lists each unsupported fact once, in the order it appears.
    """
    summary = _normalise(summary)
    index = _build_index(_normalise(source), _normalise(allowed_extra))
    index.lower_words |= {fold_word(w) for w in _NAME_WORD.findall(summary) if w[0].islower()}
    tail = summary.rstrip()
    truncated_at = (len(tail) - 1 if tail.endswith("…") else len(tail) - 3 if tail.endswith("...") else None)
    missing: list[Fact] = []
    seen: set[tuple[str, str]] = set()
    for fact in _extract(summary, names=True):
        if _supported(fact, index, truncated_at) or (fact.kind, fact.text.casefold()) in seen:
            continue
        seen.add((fact.kind, fact.text.casefold()))
        missing.append(Fact(fact.kind, fact.text))
    return FaithfulnessReport(ok=not missing, missing=tuple(missing))
