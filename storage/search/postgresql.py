"""PostgreSQL backend: ``archive_fts(doc_key, folded tsvector, exact tsvector)`` with GIN indexes.

The tsvectors are written as literals from our own tokens (with positions, for phrases) instead of
``to_tsvector``, whose parser splits words differently from FTS5; facet tokens and the entry's distinct
adjacent word pairs (``ubnd_xa``, ``domain.search.word_pairs``) are added without positions. Queries are
tsquery literals built from quoted tokens and passed as a bound parameter.

A phrase is asked for by its pairs, as on SQLite: ``"ubnd xa"`` is the lexeme ``'__ubnd_xa'``, exact on its own
and answered from the GIN index without reading a row; a longer phrase is ``'__a_b' & '__b_c' & ('a' <-> 'b' <->
'c')``, so positions are checked only in rows holding every pair. With ``<->`` alone GIN hands every row
holding all the words to a recheck of their positions: seconds for common words at a million entries
(``benchmarks/search.py``).
"""

from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.search import FACET_ALL, Clause, FacetFilter, Query, word_pairs
from storage.search import Hit, IndexDoc

# Pair lexemes start with "__" (facets with "_" and a letter, words with a letter or digit): a word prefix
# such as 'd':* must not also match the position-less pair 'da_loc', or PostgreSQL's phrase check fails.
PAIR_MARK = "__"
MAX_POSITION = 16383  # PostgreSQL's limit: later words share the last position (phrases there may miss)
MAX_POSITIONS = 255  # positions kept per lexeme


def _lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(words: list[str], facets: list[str]) -> str:
    """``'da':1,5 'lat':2 '__da_lat' '__lat_da' '_lvi'`` for ``words`` (positions from 1), then their adjacent pairs
    and ``facets`` without positions."""
    positions: dict[str, list[int]] = {}
    for i, w in enumerate(words, start=1):
        kept = positions.setdefault(w, [])
        if len(kept) < MAX_POSITIONS:
            kept.append(min(i, MAX_POSITION))
    parts = [f"{_lexeme(w)}:{','.join(map(str, sorted(set(p))))}" for w, p in positions.items()]
    parts.extend(_lexeme(PAIR_MARK + p) for p in word_pairs(words))
    parts.extend(_lexeme(f) for f in facets if f not in positions)
    return " ".join(parts)


def _clause(c: Clause, pairs: bool = True) -> str:
    lexemes = [_lexeme(w) for w in c.words]
    if c.prefix:
        lexemes[-1] += ":*"
    if len(lexemes) == 1:
        return lexemes[0]
    if not pairs:
        return "(" + " <-> ".join(lexemes) + ")"
    # Pairs: a_b present is exactly "a b" adjacent; with a prefix, the last pair is a prefix lexeme ("a b*").
    terms = [_lexeme(PAIR_MARK + p) for p in [*word_pairs(c.words[:-1]), *word_pairs(c.words[-2:])]]
    if c.prefix:
        terms[-1] += ":*"
    if len(lexemes) > 2:  # pairs are necessary, not sufficient: confirm the positions
        terms.append("(" + " <-> ".join(lexemes) + ")")
    return "(" + " & ".join(dict.fromkeys(terms)) + ")"


def tsquery_literal(query: Query, facets: FacetFilter, *, pairs: bool = True) -> str:
    """E.g. ``('__ubnd_xa') & 'tiem':* & ('_lvi')``."""
    parts = [_clause(c, pairs) for c in query.clauses]
    parts.extend("(" + " | ".join(_lexeme(t) for t in group) + ")" for group in facets.groups)
    return " & ".join(parts) if parts else _lexeme(FACET_ALL)


class PostgresBackend:
    def __init__(self, *, pairs: bool = True) -> None:
        self.pairs = pairs  # False: phrases by positions only (the benchmark's "before")

    def put(self, s: Session, docs: list[IndexDoc]) -> None:
        if not docs:
            return
        s.execute(text(
            "INSERT INTO archive_fts(doc_key, folded, exact) VALUES (:k, CAST(:f AS tsvector), CAST(:e AS tsvector)) "
            "ON CONFLICT (doc_key) DO UPDATE SET folded = excluded.folded, exact = excluded.exact"),
            [{"k": d.doc_key, "f": tsvector_literal(d.folded, d.facets), "e": tsvector_literal(d.exact, d.facets)}
             for d in docs])

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
        where = [f"{column} @@ q"]
        params: dict[str, object] = {"q": tsquery_literal(query, facets, pairs=self.pairs), "cap": cap}
        if lo is not None:
            where.append("doc_key >= :lo")
            params["lo"] = lo
        if hi is not None:
            where.append("doc_key <= :hi")
            params["hi"] = hi
        # The newest keys first (by GIN bitmap and top-N sort, or a backward walk of the key index: the planner
        # picks), then ts_rank for those rows only: in one query level it would rank every match.
        sql = (f"SELECT f.doc_key, ts_rank(f.{column}, q) FROM (SELECT doc_key FROM archive_fts, "
               f"CAST(:q AS tsquery) AS q WHERE {' AND '.join(where)} ORDER BY doc_key DESC LIMIT :cap) AS top "
               "JOIN archive_fts AS f ON f.doc_key = top.doc_key, CAST(:q AS tsquery) AS q ORDER BY f.doc_key DESC")
        return [Hit(int(k), float(r)) for k, r in s.execute(text(sql), params)]
