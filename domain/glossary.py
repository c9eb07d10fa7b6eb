"""Glossaries of protected terms: how place names, offices and units must appear in each language.

A glossary belongs to one target language. Each term is a Vietnamese source phrase with either a fixed
rendering in the target language (an office or a unit a translator has approved) or no rendering, which
means the term is *protected*: it must be copied verbatim (a commune or hamlet name nobody has agreed a
spelling for). Machine translation gets the glossary *applied* before it runs (renderings substituted
into the input, or listed in an instruction prompt) and *checked* after: a translation that lost a term
is blocked with a reason, and a person translates the variant instead.

The file format is UTF-8 TSV, one term a line: ``term<TAB>rendering<TAB>kind<TAB>note``; the rendering
may be empty; ``#`` starts a comment line. Matching is case-insensitive on NFC text, on whole words.
This module is pure: parsing, finding, substituting and checking, no file access.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.errors import InvalidInput

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


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


@dataclass(frozen=True, slots=True)
class Glossary:
    """The protected terms of one target language; longer terms win where terms overlap."""

    language: str
    terms: tuple[Term, ...] = ()
    version: str = ""  # SHA-256 of the file it came from, recorded with every translation

    def _pattern(self) -> re.Pattern[str] | None:
        if not self.terms:
            return None
        alternatives = sorted({_norm(t.source) for t in self.terms}, key=len, reverse=True)
        return re.compile(r"(?<!\w)(" + "|".join(re.escape(a) for a in alternatives) + r")(?!\w)")

    def _by_norm(self) -> dict[str, Term]:
        return {_norm(t.source): t for t in self.terms}

    def find(self, text: str) -> tuple[Term, ...]:
        """Terms occurring in ``text``, each once, in order of first occurrence."""
        pattern = self._pattern()
        if pattern is None:
            return ()
        by_norm, found = self._by_norm(), dict[str, Term]()
        for m in pattern.finditer(_norm(text)):
            found.setdefault(m.group(1), by_norm[m.group(1)])
        return tuple(found.values())

    def apply(self, text: str) -> str:
        """Substitute each term that has a rendering; protected terms stay as they are.

        The result is meant as machine-translation *input*: models copy foreign-script spans through,
        so the approved rendering reaches the output more often than when the model translates the term.
        Whitespace is collapsed and the text NFC-normalised; letter case is kept outside the terms.
        """
        pattern = self._pattern()
        text = " ".join(unicodedata.normalize("NFC", text).split())
        if pattern is None:
            return text
        by_norm = self._by_norm()
        # Match on a case-folded copy; casefold keeps lengths for Vietnamese letters, which we verify.
        folded = text.casefold()
        if len(folded) != len(text):
            return text
        out, last = [], 0
        for m in pattern.finditer(folded):
            term = by_norm[m.group(1)]
            out.append(text[last:m.start()])
            out.append(term.rendering or text[m.start():m.end()])
            last = m.end()
        out.append(text[last:])
        return "".join(out)

    def check(self, source: str, translation: str) -> GlossaryReport:
        """Every term of ``source`` must appear in ``translation`` as its rendering (or verbatim)."""
        target = _norm(translation)
        missing = tuple(t for t in self.find(source) if _norm(t.expected) not in target)
        return GlossaryReport(ok=not missing, missing=missing)


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
    seen: set[str] = set()
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
        key = _norm(source)
        if key in seen:
            raise InvalidInput(f"{where} line {number}: '{source}' is listed twice")
        seen.add(key)
        terms.append(Term(unicodedata.normalize("NFC", source), unicodedata.normalize("NFC", rendering), kind, note))
    return Glossary(language=language, terms=tuple(terms), version=version)
