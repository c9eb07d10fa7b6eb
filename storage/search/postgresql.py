"""PostgreSQL backend: ``archive_fts(doc_key, folded tsvector, exact tsvector)`` with GIN indexes.

The tsvectors are written as literals from our own tokens (with positions, for phrases) instead of
``to_tsvector``, whose parser splits words differently from FTS5; facet tokens are added without
positions. Queries are tsquery literals built from quoted tokens and passed as a bound parameter.
"""

from sqlalchemy import text
from sqlalchemy.orm import Session

from domain.search import FACET_ALL, Clause, FacetFilter, Query
from storage.search import Hit, IndexDoc

MAX_POSITION = 16383  # PostgreSQL's limit: later words share the last position (phrases there may miss)
MAX_POSITIONS = 255  # positions kept per lexeme


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


def _clause(c: Clause) -> str:
    lexemes = [_lexeme(w) for w in c.words]
    if c.prefix:
        lexemes[-1] += ":*"
    return "(" + " <-> ".join(lexemes) + ")" if len(lexemes) > 1 else lexemes[0]


def tsquery_literal(query: Query, facets: FacetFilter) -> str:
    """E.g. ``('ubnd' <-> 'xa') & 'tiem':* & ('_lvi')``."""
    parts = [_clause(c) for c in query.clauses]
    parts.extend("(" + " | ".join(_lexeme(t) for t in group) + ")" for group in facets.groups)
    return " & ".join(parts) if parts else _lexeme(FACET_ALL)


class PostgresBackend:
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
        params: dict[str, object] = {"q": tsquery_literal(query, facets), "cap": cap}
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
