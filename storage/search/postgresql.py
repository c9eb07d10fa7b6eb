"""PostgreSQL backend: ``archive_fts(doc_key, folded, exact, folded_pairs, exact_pairs)``, tsvectors with GIN
indexes.

The tsvectors are written as literals from our own tokens (with positions, for phrases) instead of
``to_tsvector``, whose parser splits words differently from FTS5; facet tokens are added without
positions. Queries are tsquery literals built from quoted tokens and passed as bound parameters.

``folded_pairs``/``exact_pairs`` hold each entry's distinct adjacent word pairs (``ubnd_xa``,
``domain.search.word_pairs``), as on SQLite. A phrase is asked for by its pairs: ``"ubnd xa"`` is the pairs
lexeme ``'ubnd_xa'``, exact on its own; a longer one is ``'a_b' & 'b_c'`` on the pairs column and
``'a' <-> 'b' <-> 'c'`` on the words column, so positions are checked only in rows holding every pair. With
``<->`` alone GIN hands every row holding all the words to a recheck of their positions: seconds for common
words at a million entries (``benchmarks/search.py``). Pairs live in columns of their own so the word
columns, which every other query reads row by row, stay as small as they were.
"""

from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.search import FACET_ALL, Clause, FacetFilter, Query, word_pairs
from storage.search import Hit, IndexDoc

MAX_POSITION = 16383  # PostgreSQL's limit: later words share the last position (phrases there may miss)
MAX_POSITIONS = 255  # positions kept per lexeme
UPSERT = text(
    "INSERT INTO archive_fts(doc_key, folded, exact, folded_pairs, exact_pairs) VALUES (:k, CAST(:f AS tsvector), "
    "CAST(:e AS tsvector), CAST(:fp AS tsvector), CAST(:ep AS tsvector)) ON CONFLICT (doc_key) DO UPDATE SET "
    "folded = excluded.folded, exact = excluded.exact, folded_pairs = excluded.folded_pairs, "
    "exact_pairs = excluded.exact_pairs")


def _lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(words: list[str], facets: list[str]) -> str:
    """``'da':1,5 'lat':2 '_lvi'`` for ``words`` (positions from 1) plus position-less ``facets``."""
    positions: dict[str, list[int]] = {}
    for i, w in enumerate(words, start=1):
        kept = positions.setdefault(w, [])
        if len(kept) < MAX_POSITIONS:
            kept.append(min(i, MAX_POSITION))
    parts = [f"{_lexeme(w)}:{','.join(map(str, sorted(set(p))))}" for w, p in positions.items()]
    parts.extend(_lexeme(f) for f in facets if f not in positions)
    return " ".join(parts)


def pairs_literal(words: list[str]) -> str:
    """``'da_lat' 'lat_da'``: the distinct adjacent pairs of ``words``, without positions."""
    return " ".join(_lexeme(p) for p in word_pairs(words))


def row_values(doc: IndexDoc) -> dict[str, object]:
    """The parameters of :data:`UPSERT` for one entry."""
    return {"k": doc.doc_key, "f": tsvector_literal(doc.folded, doc.facets),
            "e": tsvector_literal(doc.exact, doc.facets), "fp": pairs_literal(doc.folded),
            "ep": pairs_literal(doc.exact)}


def _phrase(c: Clause) -> str:
    lexemes = [_lexeme(w) for w in c.words]
    if c.prefix:
        lexemes[-1] += ":*"
    return "(" + " <-> ".join(lexemes) + ")" if len(lexemes) > 1 else lexemes[0]


def _pair_terms(c: Clause) -> list[str]:
    """A phrase's pair lexemes; with a prefix, its last pair is a prefix lexeme (``'a_b':*``: ``a`` then ``b...``)."""
    terms = [_lexeme(p) for p in [*word_pairs(c.words[:-1]), *word_pairs(c.words[-2:])]]
    if c.prefix:
        terms[-1] += ":*"
    return terms


def tsquery_literals(query: Query, facets: FacetFilter, *, pairs: bool = True) -> tuple[str | None, str | None]:
    """The tsqueries for the words column and the pairs column, e.g. ``("'tiem':* & ('_lvi')", "'ubnd_xa'")``
    for ``"ubnd xa" tiem*`` in Vietnamese; None where a column has nothing to match. ``pairs=False``: phrases
    by positions only (for comparison)."""
    words: list[str] = []
    pair_terms: list[str] = []
    for c in query.clauses:
        if pairs and c.is_phrase:
            pair_terms.extend(_pair_terms(c))
            if len(c.words) > 2:  # pairs are necessary, not sufficient: confirm the positions
                words.append(_phrase(c))
        else:
            words.append(_phrase(c))
    words.extend("(" + " | ".join(_lexeme(t) for t in group) + ")" for group in facets.groups)
    if not words and not pair_terms:
        words.append(_lexeme(FACET_ALL))
    return (" & ".join(words) or None), (" & ".join(dict.fromkeys(pair_terms)) or None)


class PostgresBackend:
    def __init__(self, *, pairs: bool = True) -> None:
        self.pairs = pairs  # False: phrases by positions only (the benchmark's "before")

    def put(self, s: Session, docs: list[IndexDoc]) -> None:
        if docs:
            s.execute(UPSERT, [row_values(d) for d in docs])

    def delete(self, s: Session, keys: list[int]) -> None:
        if keys:
            s.execute(text("DELETE FROM archive_fts WHERE doc_key = ANY(:keys)"), {"keys": list(keys)})

    def clear(self, s: Session) -> None:
        s.execute(text("TRUNCATE archive_fts"))

    def count(self, s: Session) -> int:
        return int(s.execute(text("SELECT count(*) FROM archive_fts")).scalar_one())

    def search(self, s: Session, query: Query, facets: FacetFilter, *, lo: int | None = None,
               hi: int | None = None, cap: int = 200) -> list[Hit]:
        column = "exact" if query.exact else "folded"
        words, pairs = tsquery_literals(query, facets, pairs=self.pairs)
        where: list[str] = []
        params: dict[str, object] = {"cap": cap}
        if words is not None:
            where.append(f"{column} @@ CAST(:q AS tsquery)")
            params["q"] = words
        if pairs is not None:
            where.append(f"{column}_pairs @@ CAST(:p AS tsquery)")
            params["p"] = pairs
        if lo is not None:
            where.append("doc_key >= :lo")
            params["lo"] = lo
        if hi is not None:
            where.append("doc_key <= :hi")
            params["hi"] = hi
        rank = f"ts_rank(f.{column}, CAST(:q AS tsquery))" if words is not None else \
            f"ts_rank(f.{column}_pairs, CAST(:p AS tsquery))"
        # The newest keys first (by GIN bitmap and top-N sort, or a backward walk of the key index: the planner
        # picks), then ts_rank for those rows only: in one query level it would rank every match.
        sql = (f"SELECT f.doc_key, {rank} FROM (SELECT doc_key FROM archive_fts WHERE {' AND '.join(where)} "
               "ORDER BY doc_key DESC LIMIT :cap) AS top JOIN archive_fts AS f ON f.doc_key = top.doc_key "
               "ORDER BY f.doc_key DESC")
        return [Hit(int(k), float(r)) for k, r in s.execute(text(sql), params)]
