"""Glossaries of protected terms: how place names, offices and units must appear in each language.

A glossary belongs to one target language. Each term is a Vietnamese source phrase with either a fixed
rendering in the target language (an office or a unit a translator has approved) or no rendering, which
means the term is *protected*: it must be copied verbatim (a commune or hamlet name nobody has agreed a
spelling for). Machine translation gets the glossary *applied* before it runs (renderings substituted
into the input, or listed in an instruction prompt) and *checked* after: a translation that lost a term
is blocked with a reason, and a person translates the variant instead.

The file format is UTF-8 TSV, one term a line: ``term<TAB>rendering<TAB>kind<TAB>note``; the rendering
may be empty; ``#`` starts a comment line. Matching is on whole words, case- and tone-placement-insensitive.
This module is pure: parsing, finding, substituting and checking, no file access.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.errors import InvalidInput
from domain.faithfulness import fold_word

KINDS = frozenset({"place", "office", "unit", "term"})


@dataclass(frozen=True, slots=True)
class Term:
    """One glossary line.

    Attributes:
        source: The Vietnamese phrase as written in drafts.
        rendering: The required target-language text; empty when the term is copied verbatim.
        kind: place, office, unit or term.
        note: Who approved it, or why it is protected.
    """

    source: str
    rendering: str = ""
    kind: str = "term"
    note: str = ""

    @property
    def protected(self) -> bool:
        """True when the term must appear unchanged in the translation."""
        return not self.rendering

    @property
    def expected(self) -> str:
        """What the translation must contain wherever the source has the term."""
        return self.rendering or self.source


@dataclass(frozen=True, slots=True)
class GlossaryReport:
    """Outcome of :meth:`Glossary.check`: ``ok`` exactly when no term is ``missing``."""

    ok: bool
    missing: tuple[Term, ...] = ()

    def reason(self) -> str:
        """One line, Vietnamese then English, naming every term the translation lost."""
        if self.ok:
            return "Bản dịch giữ đúng thuật ngữ / translation keeps the glossary terms."
        listed = ", ".join(f"«{t.source}» → «{t.expected}»" for t in self.missing)
        return (f"Bản dịch thiếu thuật ngữ bắt buộc: {listed} / "
                f"translation lost required glossary terms: {listed}.")


# Zero-width characters: Khmer text uses U+200B between words, and models insert them at random.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).translate(_INVISIBLE)


def _word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN"  # letters with their combining marks (Khmer vowel signs), digits


def _words(text: str) -> list[tuple[str, int, int]]:
    """``(key, start, end)`` of each word; a hyphen between letters joins ("ki-lô-mét")."""
    out: list[tuple[str, int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if not _word_char(text[i]):
            i += 1
            continue
        start = i
        while i < n and (_word_char(text[i]) or (text[i] == "-" and i + 1 < n and _word_char(text[i + 1])
                                                  and _word_char(text[i - 1]))):
            i += 1
        out.append((fold_word(text[start:i]), start, i))
    return out


def _key(text: str) -> tuple[str, ...]:
    return tuple(k for k, _, _ in _words(_clean(text)))


def _latin(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("LATIN") for ch in text if ch.isalpha())


def _compact(text: str) -> str:
    return "".join(_clean(text).casefold().split())


@dataclass(frozen=True, slots=True)
class Glossary:
    """The protected terms of one target language; longer terms win where terms overlap.

    Matching is on whole words, case-insensitive, and blind to the old/new tone placement ("Uỷ ban" is
    "Ủy ban", "Hoà" is "Hòa"): drafts use both, and a term that escaped matching would escape the check too.
    """

    language: str
    terms: tuple[Term, ...] = ()
    version: str = ""  # SHA-256 of the file it came from, recorded with every translation

    def _occurrences(self, text: str) -> list[tuple[Term, int, int]]:
        """Non-overlapping ``(term, start, end)`` in ``text`` (already cleaned), left to right, longest first."""
        by_key: dict[tuple[str, ...], Term] = {}
        for term in self.terms:
            by_key.setdefault(_key(term.source), term)
        lengths = sorted({len(k) for k in by_key if k}, reverse=True)
        words = _words(text)
        found: list[tuple[Term, int, int]] = []
        i = 0
        while i < len(words):
            for size in (n for n in lengths if i + n <= len(words)):
                hit = by_key.get(tuple(k for k, _, _ in words[i:i + size]))
                if hit is not None:
                    found.append((hit, words[i][1], words[i + size - 1][2]))
                    i += size
                    break
            else:
                i += 1
        return found

    def find(self, text: str) -> tuple[Term, ...]:
        """Terms occurring in ``text``, each once, in order of first occurrence."""
        found: dict[str, Term] = {}
        for term, _, _ in self._occurrences(_clean(text)):
            found.setdefault(term.source, term)
        return tuple(found.values())

    def apply(self, text: str) -> str:
        """Substitute each term that has a rendering; protected terms stay as they are.

        The result is meant as machine-translation *input*: models copy foreign-script spans through,
        so the approved rendering reaches the output more often than when the model translates the term.
        Whitespace is collapsed and the text NFC-normalised; letter case is kept outside the terms.
        """
        text = " ".join(_clean(text).split())
        out, last = [], 0
        for term, start, end in self._occurrences(text):
            out.append(text[last:start])
            out.append(term.rendering or text[start:end])
            last = end
        out.append(text[last:])
        return "".join(out)

    def present(self, term: Term, translation: str) -> bool:
        """Whether ``translation`` contains what ``term`` requires.

        A Latin-script expectation (a protected Vietnamese name, an English rendering) must appear as whole
        words, so "An" is not found inside "Anh", nor "Hòa An" in "Hòa Ân". Scripts written without
        spaces between words (Khmer) are searched as a substring, ignoring spaces and zero-width characters.
        """
        if _latin(term.expected):
            wanted, words = _key(term.expected), [k for k, _, _ in _words(_clean(translation))]
            return bool(wanted) and any(tuple(words[i:i + len(wanted)]) == wanted for i in range(len(words)))
        return _compact(term.expected) in _compact(translation)

    def check(self, source: str, translation: str) -> GlossaryReport:
        """Every term of ``source`` must appear in ``translation`` as its rendering (or verbatim)."""
        missing = tuple(t for t in self.find(source) if not self.present(t, translation))
        return GlossaryReport(ok=not missing, missing=missing)

    def strip_terms(self, translation: str) -> str:
        """``translation`` without the text the glossary requires (protected names are not translated)."""
        text = _clean(translation)
        for expected in sorted({t.expected for t in self.terms}, key=len, reverse=True):
            text = re.sub(re.escape(_clean(expected)), " ", text, flags=re.IGNORECASE)
        return text


def parse_glossary(text: str, *, language: str, where: str = "glossary", version: str = "") -> Glossary:
    """Read the TSV format described in the module docstring.

    Args:
        text: File content.
        language: The target language the file is for.
        where: Name used in error messages (the file path).
        version: Digest of the file, kept on the glossary.

    Raises:
        InvalidInput: a line without a term, an unknown kind, or a term listed twice (naming the line).
    """
    terms: list[Term] = []
    seen: set[tuple[str, ...]] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        fields += [""] * (4 - len(fields))
        source, rendering, kind, note = fields[:4]
        kind = kind or "term"
        if not source:
            raise InvalidInput(f"{where} line {number}: the first column (the Vietnamese term) is empty")
        if kind not in KINDS:
            raise InvalidInput(f"{where} line {number}: kind '{kind}' is not one of {', '.join(sorted(KINDS))}")
        key = _key(source)
        if not key:
            raise InvalidInput(f"{where} line {number}: '{source}' has no letters or digits")
        if key in seen:
            raise InvalidInput(f"{where} line {number}: '{source}' is listed twice")
        seen.add(key)
        terms.append(Term(unicodedata.normalize("NFC", source), unicodedata.normalize("NFC", rendering), kind, note))
    return Glossary(language=language, terms=tuple(terms), version=version)
