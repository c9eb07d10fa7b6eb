"""Archive search, the pure part: folding Vietnamese text, parsing queries, facet tokens, snippets.

Both databases index the *same* token streams made here, so a query means the same thing on SQLite (FTS5)
and PostgreSQL (tsvector): the backends never tokenise or fold text themselves.

- **Folding** (the default, diacritic-insensitive mode): lower case, NFD, drop the Latin combining marks
  (U+0300–U+036F: the five tones, circumflex, breve, horn), ``đ`` -> ``d``, NFC. "ubnd xa" finds "UBND xã".
  Marks of other scripts (Khmer vowel signs) are kept: dropping them would merge different words.
- **Exact** mode: lower case and NFC only, so "xã" finds "xã" but not "xa" or "xà".
- **Tokens**: runs of letters, digits and combining marks (so Khmer "លោក" is one word, not "ល ក");
  punctuation and operator characters separate words.
  A word that splits into several tokens ("covid-19") is searched as a phrase.
- **Query syntax**: words (all must occur), ``"quoted phrases"``, ``prefix*`` (at least 2 characters), and
  nothing else: every other character is a separator, so no input can reach a database query language.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import InvalidInput

MAX_QUERY_CHARS = 500
MAX_CLAUSES = 12
MAX_TOKEN_CHARS = 60  # longer "words" (hashes, URLs run together) are not indexed nor searched
MIN_PREFIX_CHARS = 2


class EntryKind(StrEnum):
    """What an archive entry holds: a published package's variant, or a recording (ingested or a live session)."""

    PACKAGE = "package"
    RECORDING = "recording"


# A recording's entry status (a package's entry carries its package's status: published, withdrawn, killed).
ARCHIVED = "archived"


class IngestStatus(StrEnum):
    """What an archive ingest made of one recording."""

    DONE = "done"  # transcribed into a new archive entry
    SKIPPED = "skipped"  # already in the archive
    FAILED = "failed"  # the recording could not be read or transcribed


def _mark_class() -> str:
    """Combining marks of the Basic Multilingual Plane as a regex class body: ``re``'s ``\\w`` leaves them out,
    so Khmer "លោក" (a consonant, a vowel sign, a consonant) would fall apart into two one-letter words."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp))[0] == "M":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if b > a else f"\\u{a:04x}" for a, b in ranges)


_MARKS = _mark_class()
_WORD = rf"(?:[^\W_]|[{_MARKS}])"  # a letter, a digit or a combining mark (Khmer vowel signs, coeng)
_SEP = rf"(?:[^\w{_MARKS}]|_)"  # anything else separates words
_TOKEN = re.compile(_WORD + "+")
_LATIN_MARKS = re.compile(r"[\u0300-\u036f]+")
_CHUNK = re.compile(r'"([^"]*)"(\*?)|([^\s"]+)')


def _strip(ch: str) -> str:
    return unicodedata.normalize("NFC", _LATIN_MARKS.sub("", unicodedata.normalize("NFD", ch))).replace("đ", "d")


def _fold_table() -> dict[int, str]:
    """Lower-case letter -> the same letter without Latin diacritics, for every letter of the Latin blocks
    (Vietnamese lives in U+00C0-U+01B0 and U+1EA0-U+1EF9), and loose combining marks -> nothing."""
    table: dict[int, str] = {cp: "" for cp in range(0x300, 0x370)}
    for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        ch = chr(cp).lower()
        if len(ch) == 1 and (base := _strip(ch)) != ch and len(base) == 1:
            table[ord(ch)] = base
    return table


_FOLD = _fold_table()


def exact_form(text: str) -> str:
    """Lower case, NFC: what exact mode compares."""
    return unicodedata.normalize("NFC", text).lower()


def fold(text: str) -> str:
    """Lower case without Vietnamese diacritics: ``"Đà Lạt, UBND xã"`` -> ``"da lat, ubnd xa"``.

    A table lookup per character (C speed: the archive folds millions of words); for NFC text of the Latin
    blocks it equals decomposing, dropping U+0300-U+036F and mapping ``đ`` to ``d``, and it keeps offsets.
    """
    return exact_form(text).translate(_FOLD)


def tokens(text: str, *, exact: bool = False) -> list[str]:
    """The searchable words of ``text`` in folded (default) or exact form, in order."""
    form = exact_form(text) if exact else fold(text)
    return [t for t in _TOKEN.findall(form) if len(t) <= MAX_TOKEN_CHARS]


@dataclass(frozen=True, slots=True)
class Clause:
    """Consecutive words that must all occur in this order; ``prefix``: the last one may continue."""

    words: tuple[str, ...]
    prefix: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: every clause must match (AND). No clauses: everything (filters only)."""

    clauses: tuple[Clause, ...]
    exact: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.clauses

    def describe(self) -> str:
        """The query as understood, e.g. ``"ubnd xa" tiem*`` (shown back to the user)."""
        parts = []
        for c in self.clauses:
            text = " ".join(c.words) + ("*" if c.prefix else "")
            parts.append(f'"{text}"' if c.is_phrase else text)
        return " ".join(parts)


def parse_query(raw: str, *, exact: bool = False) -> Query:
    """Parse what a person typed into a :class:`Query`.

    Args:
        raw: e.g. ``ubnd xa "tiêm chủng" phong*``. Unbalanced quotes and operator characters are separators.
        exact: compare with diacritics (lower case still ignored).

    Raises:
        InvalidInput: longer than :data:`MAX_QUERY_CHARS`, more than :data:`MAX_CLAUSES` clauses, or a prefix
            shorter than :data:`MIN_PREFIX_CHARS` characters.
    """
    if len(raw) > MAX_QUERY_CHARS:
        raise InvalidInput(f"the search text is {len(raw)} characters long; at most {MAX_QUERY_CHARS} are allowed")
    clauses: list[Clause] = []
    for m in _CHUNK.finditer(unicodedata.normalize("NFC", raw)):
        quoted, star, bare = m.group(1), m.group(2), m.group(3)
        text = quoted if quoted is not None else bare
        prefix = bool(star) if quoted is not None else bare.endswith("*")
        words = tuple(tokens(text, exact=exact))
        if not words:
            continue
        if prefix and len(words) == 1 and len(words[0]) < MIN_PREFIX_CHARS:  # a phrase narrows it enough
            raise InvalidInput(f"'{words[-1]}*': a prefix needs at least {MIN_PREFIX_CHARS} letters")
        clause = Clause(words, prefix)
        if clause not in clauses:
            clauses.append(clause)
    if len(clauses) > MAX_CLAUSES:
        raise InvalidInput(f"the search has {len(clauses)} words or phrases; at most {MAX_CLAUSES} are allowed")
    return Query(tuple(clauses), exact)


def _clause_at(words: Sequence[str], i: int, clause: Clause) -> bool:
    n = len(clause.words)
    if i + n > len(words):
        return False
    for k, w in enumerate(clause.words):
        last = k == n - 1
        if not (words[i + k].startswith(w) if last and clause.prefix else words[i + k] == w):
            return False
    return True


def matches(text: str, query: Query) -> bool:
    """Whether ``text`` matches ``query``: the reference semantics every backend must reproduce."""
    words = tokens(text, exact=query.exact)
    return all(any(_clause_at(words, i, c) for i in range(len(words))) for c in query.clauses)


PAIR_JOIN = "_"  # words never contain "_", so "a_b" is unambiguously the pair (a, b)


def word_pairs(words: Sequence[str]) -> list[str]:
    """The distinct pairs of adjacent words, ``["a_b", "b_c"]`` for ``a b c``: indexed as tokens of their own
    (SQLite), so a phrase is found by pairs that are each rare instead of checking word positions."""
    return list(dict.fromkeys(f"{a}{PAIR_JOIN}{b}" for a, b in zip(words, words[1:], strict=False)))


def token_pattern(c: Clause) -> re.Pattern[str]:
    """The clause in space-joined tokens (what the index stores), padded with a space at both ends; a
    literal first, so ``re`` scans fast. ``token_pattern(c).search(f" {doc} ")`` is :func:`matches` for
    the tokens ``doc``."""
    return re.compile(" " + " ".join(re.escape(w) for w in c.words) + (r"\S*" if c.prefix else "") + "(?= )")


def relevance(docs: Sequence[str], query: Query, *, k1: float = 1.2, b: float = 0.75) -> list[float]:
    """BM25 scores of candidate documents given as space-joined tokens, with the statistics of the candidates
    themselves (document frequency, average length): enough to order a result page, and it costs a regex scan
    of a few hundred short documents instead of reading every posting of a common word.
    """
    if not docs or not query.clauses:
        return [0.0] * len(docs)
    lengths = [d.count(" ") + 1 for d in docs]
    avg = sum(lengths) / len(lengths)
    patterns = [token_pattern(c) for c in query.clauses]
    padded = [f" {d} " for d in docs]
    tfs = [[len(p.findall(d)) for p in patterns] for d in padded]
    n = len(docs)
    idf = [math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in (sum(1 for row in tfs if row[j]) for j in
                                                                   range(len(patterns)))]
    return [sum(idf[j] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg)) for j, tf in enumerate(row))
            for row, length in zip(tfs, lengths, strict=True)]


# --- facets: filters indexed as reserved tokens (words never contain "_", so these cannot collide) ---

FACET_ALL = "_all"


def area_tokens(target_codes: Iterable[str], ancestors: dict[str, list[str]]) -> list[str]:
    """``_t<code>`` for each target area and ``_u<code>`` for it and each of its ancestors.

    Args:
        target_codes: the entry's target areas.
        ancestors: code -> its ancestors' codes (nearest first); unknown codes have none.
    """
    out: list[str] = []
    for code in target_codes:
        out.append(f"_t{code}")
        out.extend(f"_u{c}" for c in [code, *ancestors.get(code, [])])
    return list(dict.fromkeys(out))


def facet_tokens(*, areas: Sequence[str], language: str, priority: str | None, channels: Sequence[str],
                 status: str, kind: str) -> list[str]:
    """Every filterable attribute of an entry as tokens (``areas`` from :func:`area_tokens`)."""
    out = [FACET_ALL, *areas, f"_l{language}", f"_s{status}", f"_k{kind}"]
    if priority:
        out.append(f"_p{priority}")
    out.extend(f"_c{c}" for c in channels)
    return [_safe_facet(t) for t in dict.fromkeys(out)]


def _safe_facet(token: str) -> str:
    """Facet values come from validated codes; anything else is squashed so it stays one token."""
    return "_" + re.sub(r"[^0-9a-z]", "", token[1:].lower())


def area_filter_tokens(code: str, ancestors: Sequence[str]) -> list[str]:
    """Tokens any of which puts an entry in area ``code``: aimed inside its subtree (``_u``), or aimed at an
    ancestor (a province-wide bulletin was broadcast in each of its communes too)."""
    return [f"_u{code}", *(f"_t{a}" for a in ancestors)]


@dataclass(frozen=True, slots=True)
class FacetFilter:
    """Conjunction of disjunctions of facet tokens: every group must have one token present."""

    groups: tuple[tuple[str, ...], ...] = ()

    def with_group(self, toks: Iterable[str]) -> FacetFilter:
        group = tuple(_safe_facet(t) for t in dict.fromkeys(toks))
        return FacetFilter((*self.groups, group))


# --- snippets ---


@dataclass(frozen=True, slots=True)
class Snippet:
    """A piece of text with the matched words marked (offsets into ``text``)."""

    text: str
    marks: tuple[tuple[int, int], ...]

    def fragments(self) -> list[tuple[str, bool]]:
        """``[(text, is_match), ...]`` covering the whole snippet, for templates and terminals."""
        out: list[tuple[str, bool]] = []
        pos = 0
        for start, end in self.marks:
            if start > pos:
                out.append((self.text[pos:start], False))
            out.append((self.text[start:end], True))
            pos = end
        if pos < len(self.text):
            out.append((self.text[pos:], False))
        return out

    def render(self, before: str = "[", after: str = "]") -> str:
        """Plain text with each match wrapped, e.g. ``... thông báo của [UBND] [xã] ...``."""
        return "".join(f"{before}{t}{after}" if hit else t for t, hit in self.fragments())


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch)[0] == "M"


def _clause_pattern(c: Clause) -> re.Pattern[str]:
    """A regex finding the clause in folded (or exact-form) text, any separators between its words. It starts
    with a literal (fast in ``re``); the caller checks that the match begins at a word's start."""
    body = (_SEP + "+").join(re.escape(w) for w in c.words) + (_WORD + "*" if c.prefix else "")
    return re.compile(body + rf"(?!{_WORD})")


def match_spans(text: str, query: Query) -> list[tuple[int, int]]:
    """Character spans of ``text`` that the query's clauses match (each phrase as one span)."""
    text = unicodedata.normalize("NFC", text)
    form = exact_form(text) if query.exact else fold(text)
    spans: list[tuple[int, int]] = []
    if len(form) == len(text):  # the usual case: one character each, so offsets carry over
        for c in query.clauses:
            spans.extend(m.span() for m in _clause_pattern(c).finditer(form)
                         if m.start() == 0 or not _is_word_char(form[m.start() - 1]))
    else:
        found = [m.span() for m in _TOKEN.finditer(text)]
        words = [exact_form(text[a:b]) if query.exact else fold(text[a:b]) for a, b in found]
        for c in query.clauses:
            n = len(c.words)
            spans.extend((found[i][0], found[i + n - 1][1]) for i in range(len(words)) if _clause_at(words, i, c))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def snippet(text: str, query: Query, *, max_chars: int = 220) -> Snippet | None:
    """The stretch of ``text`` around its densest matches, at most ``max_chars`` long (ellipses added).

    Returns:
        None when nothing in ``text`` matches (the caller tries the entry's other texts); the start of the
        text for a query without words.
    """
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if query.is_empty:
        return Snippet(_cut(text, 0, max_chars), ()) if text else None
    spans = match_spans(text, query)
    if not spans:
        return None
    best = max(range(len(spans)), key=lambda i: sum(1 for s, e in spans[i:] if e - spans[i][0] <= max_chars))
    start = max(0, spans[best][0] - max_chars // 4)
    if start:  # begin at a word boundary
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 else 0
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > spans[best][1] else end
    lead = "… " if start else ""
    body = text[start:end]
    marks = tuple((s - start + len(lead), e - start + len(lead)) for s, e in spans if s >= start and e <= end)
    return Snippet(lead + body + (" …" if end < len(text) else ""), marks)


def _cut(text: str, start: int, max_chars: int) -> str:
    if len(text) - start <= max_chars:
        return text[start:]
    end = text.rfind(" ", start, start + max_chars)
    return text[start:end if end > start else start + max_chars] + " …"
