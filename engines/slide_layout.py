"""Text layout for e-board slides that keeps meaning together: pure functions over a width measure.

A passer-by reads one slide, then the board moves on. So a slide never ends in the middle of a sentence,
and a phone number, date, clock time, amount or name never breaks across lines or slides:

* The body is cut into sentences (a full stop, ``!``, ``?`` or ``…`` followed by a capital or a
  digit, or a Khmer ``។``; ``TP.``, ``TT.`` and other short abbreviations are not ends). Whole sentences are packed
  onto a slide; one that does not fit what is left moves to the next slide.
* Protected spans (phone numbers such as ``0294 3870 115`` or ``1900 9095``, dates such as ``ngày 5
  tháng 12 năm 2026``, times such as ``7 giờ 30 phút``, amounts with their unit, and runs of two to
  six capitalised words such as ``Trạm Y tế xã Đa Lộc``) are joined with no-break spaces, so the
  wrapper treats each as one word.
* Only a sentence longer than a whole slide at the smallest type is split, between lines, and still
  never inside a protected span.

Nothing here draws or opens fonts: :func:`paginate` takes a ``measure(text) -> pixels`` function.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from domain.clock import as_utc

Measure = Callable[[str], float]
NBSP = "\u00a0"
_JOINERS = "\u200b\u200c\u200d"
_COENG = "\u17d2"
_BULLET = re.compile(r"^\s*([-•*–]|\d+[.)])\s")
# A sentence ends at . ! ? … (and closing quotes) before a capital, a digit or a bullet (checked in code).
_SENTENCE_END = re.compile(r"(?<=[.!?…។៕])[\"”’)]*\s+(?=[\"“‘(]?(\w)|[-•*–]\s)")
# Abbreviations whose full stop is not a sentence end: TP. Cần Thơ, TT. Trà Ôn, ThS. Lê An, v.v.
_ABBREVIATION_END = re.compile(r"(?:^|[\s(])(?:TP|Tp|TX|Tx|TT|ThS|TS|BS|BSCKI|BSCKII|PGS|GS|KS|Th\.S|v\.v)\.$")
_PHONE = r"(?:\+84\s?|0|1[89]00)[0-9]{0,4}(?:[ .-][0-9]{2,4}){1,3}"
_DATE = (r"(?:[Nn]gày\s+)?[0-9]{1,2}\s+tháng\s+[0-9]{1,2}(?:\s+năm\s+[0-9]{4})?"
         r"|(?:[Nn]gày|[Tt]háng)\s+[0-9]{1,2}(?:/[0-9]{1,4}){1,2}")
_TIME = r"[0-9]{1,2}\s+giờ(?:\s+[0-9]{1,2}(?:\s+phút)?)?|[0-9]{1,2}[hH:][0-9]{2}"
_AMOUNT = (r"[0-9][0-9.,]*\s+(?:đồng|triệu(?:\s+đồng)?|tỷ(?:\s+đồng)?|nghìn(?:\s+đồng)?|km|kg|ha|tấn|lít|mét|"
           r"người|hộ|trẻ|con|ngày|tháng|năm|giờ|phút|%)(?![\w])")
_PROTECTED = re.compile(rf"(?<![\w])(?:{_PHONE}|{_DATE}|{_TIME}|{_AMOUNT})(?![\w])")
_WORDS = re.compile(r"\S+|\s+")
NAME_MAX_WORDS = 6  # a longer run of capitals is a heading in title case, not a name
VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving since 1975; needs no tz database


def _capitalised(token: str) -> bool:
    word = token.lstrip("\"“‘(")
    return bool(word) and word[0].isupper() and not token.endswith((".", "!", "?", ":", ",", ";", ")", "\"", "”"))


def _protect_names(text: str) -> str:
    # Runs of 2-6 capitalised words (Đa Lộc, Trạm Y tế xã Đa Lộc has "Trạm Y" and "Đa Lộc", Nguyễn Văn An).
    tokens = _WORDS.findall(text)
    out: list[str] = []
    run: list[str] = []  # words and the spaces between them

    def flush() -> None:
        words = [t for t in run if not t.isspace()]
        joined = 2 <= len(words) <= NAME_MAX_WORDS
        out.extend(NBSP if joined and t.isspace() else t for t in run)
        run.clear()

    for token in tokens:
        if token.isspace():
            (run if run else out).append(token)
        elif _capitalised(token) or (run and token[0].isupper()):
            run.append(token)
            if not _capitalised(token):  # "Lộc," ends the name with its punctuation
                flush()
        else:
            if run and run[-1].isspace():
                trailing = run.pop()
                flush()
                out.append(trailing)
            else:
                flush()
            out.append(token)
    if run and run[-1].isspace():
        trailing = run.pop()
        flush()
        out.append(trailing)
    flush()
    return "".join(out)


def protect(text: str) -> str:
    """Join the spaces inside phone numbers, dates, times, amounts and names with no-break spaces."""
    return _protect_names(_PROTECTED.sub(lambda m: re.sub(r"\s+", NBSP, m.group(0)), text))


def sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences; an abbreviation's full stop (``TP. Cần Thơ``) is not an end."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        head = paragraph[start : match.start()].rstrip("\"”’)")
        following = match.group(1)
        khmer_end = head.endswith(("។", "៕"))  # Khmer has no capitals: its full stop always ends a sentence
        if not khmer_end and (_ABBREVIATION_END.search(head)
                              or (following and not (following.isupper() or following.isdigit()))):
            continue
        out.append(paragraph[start : match.start()].strip())
        start = match.end()
    out.append(paragraph[start:].strip())
    return [s for s in out if s]


def clusters(word: str) -> list[str]:
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


def paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; single newlines are soft unless a list item follows."""
    result = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        merged: list[str] = []
        for line in block.split("\n"):
            if merged and not _BULLET.match(line):
                merged[-1] = f"{merged[-1]} {line.strip()}"
            else:
                merged.append(line.strip())
        result.extend(merged)
    return [p for p in result if p]


def wrap(measure: Measure, paragraph: str, width: int) -> list[str]:
    """Wrap one paragraph at spaces (no-break spaces hold), breaking between clusters only a word that is
    wider than the line on its own."""
    lines: list[str] = []
    line = ""
    for sep, word in re.findall(r"([ \u200b]*)([^ \u200b]+)", paragraph):
        sep = "\u200b" if "\u200b" in sep and " " not in sep else " "
        candidate = f"{line}{sep}{word}" if line else word
        if measure(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while measure(word) > width:
            head = ""
            for cluster in clusters(word):
                if head and measure(head + cluster) > width:
                    break
                head += cluster
            lines.append(head)
            word = word[len(head):]
        line = word
    lines.append(line)
    return lines


def ellipsize(measure: Measure, text: str, width: int) -> str:
    """``text`` if it fits ``width``, else cut and ended with "…".

    The cut falls between words ("… tháng 12…", never "… nă…"), and between clusters only when not even the
    first word fits (a script written without spaces, such as Khmer).
    """
    if measure(text) <= width:
        return text
    words = text.split(" ")
    while len(words) > 1:
        words.pop()
        kept = " ".join(words).rstrip(" ,;:-–")
        if kept and measure(kept + "…") <= width:
            return kept + "…"
    parts = clusters(text)
    while parts and measure("".join(parts) + "…") > width:
        parts.pop()
    return "".join(parts).rstrip() + "…"


@dataclass(frozen=True)
class Unit:
    """One sentence of the body, wrapped: ``paragraph`` tells where a paragraph gap goes before it."""

    paragraph: int
    lines: tuple[str, ...]


def paginate(measure: Measure, body: str, width: int, capacities: tuple[int, int]) -> list[list[str]] | None:
    """Pack whole sentences onto slides of ``capacities`` (first slide, later slides) lines.

    Sentences of one paragraph flow together; a paragraph gap is a blank line (never the first line of a
    slide). A sentence that does not fit the lines left moves, whole, to the next slide.

    Returns:
        Lines per slide, or None when some sentence is longer than a whole slide (then the caller tries
        smaller type, or :func:`split_long` as a last resort).
    """
    first_cap, later_cap = capacities
    pages: list[list[str]] = [[]]
    page_items: list[tuple[int, str]] = []  # (paragraph, sentence) on the current page

    def layout(items: list[tuple[int, str]]) -> list[str]:
        lines: list[str] = []
        for index in sorted({p for p, _ in items}):
            if lines:
                lines.append("")
            lines += wrap(measure, " ".join(s for p, s in items if p == index), width)
        return lines

    for index, para in enumerate(paragraphs(body)):
        for sentence in sentences(protect(para)):
            cap = first_cap if len(pages) == 1 else later_cap
            trial = layout([*page_items, (index, sentence)])
            if len(trial) <= cap:
                page_items.append((index, sentence))
                pages[-1] = trial
                continue
            alone = layout([(index, sentence)])
            if len(alone) > later_cap or (not page_items and len(alone) > cap):
                return None
            pages.append(alone)
            page_items = [(index, sentence)]
    return [page for page in pages if page] or [[]]


def split_long(measure: Measure, body: str, width: int, capacities: tuple[int, int]) -> list[list[str]]:
    """Last resort for a sentence longer than a slide: fill slides line by line (protected spans hold)."""
    first_cap, later_cap = capacities
    pages: list[list[str]] = []
    for index, para in enumerate(paragraphs(body)):
        lines = ([""] if index else []) + wrap(measure, protect(para), width)
        for line in lines:
            if not pages or len(pages[-1]) == (first_cap if len(pages) == 1 else later_cap):
                if not line:
                    continue
                pages.append([])
            pages[-1].append(line)
    return pages or [[]]


def valid_until_text(moment: datetime | None) -> str:
    """``Hiệu lực đến 17:00 ngày 08/12/2026`` in Vietnam time (naive times are taken as UTC)."""
    if moment is None:
        return ""
    local = as_utc(moment).astimezone(VIETNAM)
    return f"Hiệu lực đến {local:%H:%M} ngày {local:%d/%m/%Y}"
