"""SQLite FTS5 backend: the ``archive_fts`` virtual table, rowid = doc_key, five columns of tokens.

Columns: ``folded`` and ``exact`` words in order, ``facets``, and ``folded_pairs``/``exact_pairs``: each entry's
distinct adjacent word pairs (``domain.search.word_pairs``). A phrase is matched through its pairs: ``"a b c"``
becomes ``a_b AND b_c`` on the pairs column, tokens that are each rare even when ``a``, ``b`` and ``c`` are
common. ``a_b`` present is exactly ``a b`` adjacent (``a_b*``: ``a b*``), so a two-word phrase needs nothing
else. A longer one must also be confirmed: when its pairs leave fewer than :data:`PROBE` candidates they are
checked in Python on the stored words; otherwise the FTS5 phrase joins the MATCH after its pairs, and its
positions are checked in the rows every pair lets through. With the phrase alone FTS5 checks positions in every
row holding all the words: 100-180 ms at a million entries (``benchmarks/search.py`` compares both).

Queries are built from tokens only (letters and digits, or ``_`` and letters for facets and pairs), each
quoted, so no user text reaches the FTS5 query language.
"""

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from domain.search import FACET_ALL, Clause, FacetFilter, Query, relevance, token_pattern, word_pairs
from storage.search import Hit, IndexDoc

PROBE = 500  # candidates by pairs alone below which a longer phrase is confirmed in Python (~20 us each)
INSERT = text("INSERT INTO archive_fts(rowid, folded, exact, facets, folded_pairs, exact_pairs) "
              "VALUES (:k, :f, :e, :t, :fp, :ep)")


def row_values(key: int, folded: list[str], exact: list[str], facets: list[str]) -> dict[str, object]:
    """The parameters of :data:`INSERT` for one entry."""
    return {"k": key, "f": " ".join(folded), "e": " ".join(exact), "t": " ".join(facets),
            "fp": " ".join(word_pairs(folded)), "ep": " ".join(word_pairs(exact))}


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _clause(c: Clause) -> str:
    return _quote(" ".join(c.words)) + (" *" if c.prefix else "")


def _pair_terms(c: Clause) -> list[str]:
    """A phrase's pair tokens; with a prefix, its last pair is a prefix token (``a_b*``: ``a`` then ``b...``)."""
    pairs = word_pairs(c.words) if not c.prefix else [*word_pairs(c.words[:-1]), *word_pairs(c.words[-2:])]
    terms = [_quote(p) for p in pairs]
    if c.prefix:
        terms[-1] += " *"
    return terms


def match_expression(query: Query, facets: FacetFilter, *, pairs: bool = True, long_phrases: bool = True) -> str:
    """The FTS5 MATCH string, e.g. ``{folded_pairs} : ("ubnd_xa") AND {folded} : ("tiem" *) AND
    {facets} : ("_lvi")``. ``pairs=False``: phrases as FTS5 phrases (exact on their own, slow; for comparison).
    ``long_phrases=False``: phrases of three or more words by their pairs only (candidates, not matches).
    """
    parts = []
    column = "exact" if query.exact else "folded"
    phrases = [c for c in query.clauses if pairs and c.is_phrase]
    # A longer phrase also stays a phrase: FTS5 checks its positions only in rows the pairs let through.
    others = [c for c in query.clauses if c not in phrases or (long_phrases and len(c.words) > 2)]
    if phrases:
        terms = dict.fromkeys(t for c in phrases for t in _pair_terms(c))
        parts.append(f"{{{column}_pairs}} : (" + " AND ".join(terms) + ")")
    if others:
        parts.append(f"{{{column}}} : (" + " AND ".join(_clause(c) for c in others) + ")")
    for group in facets.groups:
        parts.append("{facets} : (" + " OR ".join(_quote(t) for t in group) + ")")
    if not parts:
        parts.append("{facets} : (" + _quote(FACET_ALL) + ")")
    return " AND ".join(parts)


class SqliteBackend:
    def __init__(self, *, pairs: bool = True) -> None:
        self.pairs = pairs  # False: phrases by FTS5 positions only (the benchmark's "before")

    def put(self, s: Session, docs: list[IndexDoc]) -> None:
        if not docs:
            return
        self.delete(s, [d.doc_key for d in docs])
        s.execute(INSERT, [row_values(d.doc_key, d.folded, d.exact, d.facets) for d in docs])

    def delete(self, s: Session, keys: list[int]) -> None:
        if keys:
            s.execute(text("DELETE FROM archive_fts WHERE rowid = :k"), [{"k": k} for k in keys])

    def clear(self, s: Session) -> None:
        s.execute(text("DELETE FROM archive_fts"))

    def count(self, s: Session) -> int:
        return int(s.execute(text("SELECT count(*) FROM archive_fts")).scalar_one())

    def search(self, s: Session, query: Query, facets: FacetFilter, *, lo: int | None = None,
               hi: int | None = None, cap: int = 200) -> list[Hit]:
        where = ["archive_fts MATCH :m"]
        params: dict[str, object] = {"m": match_expression(query, facets, pairs=self.pairs), "cap": cap}
        if lo is not None:
            where.append("rowid >= :lo")
            params["lo"] = lo
        if hi is not None:
            where.append("rowid <= :hi")
            params["hi"] = hi
        # Not FTS5's bm25(): it computes each phrase's document frequency by reading its whole doclist, which
        # for a common word (or a facet such as the language) at a million entries costs tens of milliseconds.
        column = "exact" if query.exact else "folded"
        longer = [c for c in query.clauses if len(c.words) > 2] if self.pairs else []
        if longer:
            # FTS5 looks for an AND's first match in each part on its own: a phrase with no recent match would
            # have its positions checked everywhere. So when the pairs leave few candidates, those are
            # confirmed here, on the stored words; otherwise the phrase has plenty of rows to be found in.
            probe = (f"SELECT rowid FROM archive_fts WHERE {' AND '.join(where)} "
                     "ORDER BY rowid DESC LIMIT :probe")
            pairs_only = {**params, "m": match_expression(query, facets, long_phrases=False), "probe": PROBE}
            keys = [int(k) for (k,) in s.execute(text(probe), pairs_only)]
            if len(keys) < PROBE:
                return self._confirmed(s, keys, column, query, longer, cap)
        sql = (f"SELECT rowid, {column} FROM archive_fts WHERE {' AND '.join(where)} "
               "ORDER BY rowid DESC LIMIT :cap")
        rows = [(int(k), doc) for k, doc in s.execute(text(sql), params)]
        scores = relevance([doc for _, doc in rows], query)
        return [Hit(k, score) for (k, _), score in zip(rows, scores, strict=True)]

    @staticmethod
    def _confirmed(s: Session, keys: list[int], column: str, query: Query, longer: list[Clause],
                   cap: int) -> list[Hit]:
        """The newest ``cap`` of the candidate ``keys`` (newest first) holding every longer phrase."""
        rows: list[tuple[int, str]] = []
        sql = text(f"SELECT rowid, {column} FROM archive_fts WHERE rowid IN :keys").bindparams(
            bindparam("keys", expanding=True))
        patterns = [token_pattern(c) for c in longer]
        step = max(cap, 1)
        for i in range(0, len(keys), step):  # newest first, reading no more text than needed
            chunk = keys[i:i + step]
            docs = dict(s.execute(sql, {"keys": chunk}).tuples().all())
            rows.extend((k, docs[k]) for k in chunk if all(p.search(f" {docs[k]} ") for p in patterns))
            if len(rows) >= cap:
                break
        rows = rows[:cap]
        scores = relevance([doc for _, doc in rows], query)
        return [Hit(k, score) for (k, _), score in zip(rows, scores, strict=True)]
