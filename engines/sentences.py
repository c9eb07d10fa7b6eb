"""Vietnamese sentence segmentation for speech: wrapped lines joined, blocks closed, fragments marked.

Pasted announcements break lines anywhere: in the middle of a sentence (a PDF or a narrow column), after
a heading without a full stop, before a bulleted list. Read aloud, "...tỉnh Gia Lai Căn cứ Kế hoạch..."
is one run-on sentence, and a list item alone ("- Thôn 3") means nothing. So, before underthesea's
``sent_tokenize`` splits sentences:

* a line that does not end a sentence continues on the next line when that line starts in lower case or
  with a digit, or when it ends with a comma or a word that cannot end a sentence ("của", "tại", "xã"...);
* otherwise the line ends a block, and a block without final punctuation gets a full stop;
* a line ending in ":" followed by list items becomes one sentence: "Lịch tiêm như sau: thôn 1, sáng thứ
  Bảy; thôn 2, chiều thứ Bảy." Items without an introduction become sentences of their own.

:func:`is_fragment` tells a sentence that can be read alone from a fragment: too short, no lower-case
words (a name, a heading in capitals), a list introduction without its list, or a bare label.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_BULLET = re.compile(r"^\s*(?:[-+•*–—▪●◦·]|\d{1,2}[.)](?!\d)|[a-zđ][)](?!\w))\s+", re.I)
_END = (".", "!", "?", "…", ";")
# Words after which a sentence cannot end: the line was wrapped, the sentence goes on.
_OPEN_WORDS = frozenset(
    "của và với cho tại ở theo về từ đến trong ngoài trên dưới các những một là được có do bởi vì nên để "
    "khi thì mà nhưng hoặc hay như số ngày tháng lúc ông bà anh chị đồng ủy ban hội gồm đối nhằm tới bằng "
    "sẽ đã đang cần phải không chưa rất".split()
)
MIN_SENTENCE_WORDS = 6
MIN_LOWER_WORDS = 3
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def _sent_tokenize() -> Any:
    from underthesea import sent_tokenize  # imported lazily: ~0.5 s

    return sent_tokenize


def _ends_sentence(line: str) -> bool:
    return line.rstrip(" \"'”’)»").endswith(_END)


def _continues(line: str, following: str) -> bool:
    """Whether ``line`` (no final punctuation) was wrapped and goes on in ``following``."""
    if line.endswith((",", "-", "–", "(")):
        return True
    first = following.lstrip("\"'“‘(")[:1]
    if first.islower() or first.isdigit():
        return True
    last = line.split()[-1].casefold() if line.split() else ""
    return last in _OPEN_WORDS


def _close(text: str) -> str:
    text = text.strip()
    if not text or _ends_sentence(text):
        return text
    return text.rstrip(":,;- ") + "."


def _item(line: str) -> str:
    return _BULLET.sub("", line, count=1).strip().rstrip(";,.").strip()


def blocks(text: str) -> list[str]:
    """The text as blocks of whole sentences, each closed with punctuation (see the module docstring)."""
    lines = [" ".join(x.split()) for x in (text or "").splitlines()]
    out: list[str] = []
    current = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            if current:
                out.append(_close(current))
                current = ""
            i += 1
            continue
        bullet = bool(_BULLET.match(line))
        if current.endswith(":") and bullet:
            items: list[str] = []
            while i < len(lines) and lines[i]:
                if _BULLET.match(lines[i]):
                    items.append(_item(lines[i]))
                elif lines[i][:1].islower() and not _ends_sentence(items[-1]):
                    items[-1] = f"{items[-1]} {_item(lines[i])}"  # a wrapped item
                else:
                    break
                i += 1
            items = [x for x in items if x]
            out.append(_close(f"{current} {'; '.join(items)}"))
            current = ""
            continue
        if bullet:
            if current:
                out.append(_close(current))
            current = _item(line)
            i += 1
            continue
        if current and not _ends_sentence(current) and not current.endswith(":") and _continues(current, line):
            current = f"{current} {line}"
        else:
            if current:
                out.append(_close(current))
            current = line
        i += 1
    if current:
        out.append(_close(current))
    return [b for b in out if b]


def split_sentences(text: str) -> tuple[str, ...]:
    """Sentences of ``text``, wrapped lines joined and blocks closed, inner whitespace collapsed."""
    tokenize = _sent_tokenize()
    return tuple(" ".join(s.split()) for block in blocks(text) for s in tokenize(block) if s.strip())


def is_fragment(sentence: str) -> bool:
    """True for what cannot be read alone: short, no lower-case words (names, capitals), a bare label."""
    words = _WORD.findall(sentence)
    if len(words) < MIN_SENTENCE_WORDS:
        return True
    lower = [w for w in words if w[0].islower() and w.isalpha()]
    if len(lower) < MIN_LOWER_WORDS:
        return True
    return sentence.rstrip().endswith(":")
