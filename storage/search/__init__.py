"""The archive's full-text index behind one interface, one backend module per database.

Backends receive token lists made by ``domain.search`` and store them without tokenising again, so both
answer a :class:`domain.search.Query` with exactly the same set of entries; only the relevance number
differs (BM25 over the candidates, ``domain.search.relevance``, on SQLite; ``ts_rank`` on PostgreSQL).

Matches are read newest first (the row key is :func:`doc_key`, ordered by broadcast time) and at most
``cap`` of them are returned, so a word found in half a million entries costs no more than a rare one.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.orm import Session

from domain.search import FacetFilter, Query

KEY_SHIFT = 20  # doc_key = seconds since 1970 << 20 | a per-entry number


def doc_key(at: datetime, salt: int) -> int:
    """The index key of an entry broadcast at ``at``: ordered by time, ``salt`` tells same-second entries apart."""
    seconds = max(0, int(at.astimezone(UTC).timestamp()))
    return (seconds << KEY_SHIFT) | (salt & ((1 << KEY_SHIFT) - 1))


def key_range(start: datetime | None, end: datetime | None) -> tuple[int | None, int | None]:
    """Keys of entries broadcast in ``[start, end)``."""
    lo = doc_key(start, 0) if start else None
    hi = doc_key(end, 0) - 1 if end else None
    return lo, hi


@dataclass(frozen=True, slots=True)
class IndexDoc:
    """What the index stores for one entry: folded and exact word tokens in order, and facet tokens."""

    doc_key: int
    folded: list[str]
    exact: list[str]
    facets: list[str]


@dataclass(frozen=True, slots=True)
class Hit:
    doc_key: int
    relevance: float  # higher is better; comparable only within one result list


class SearchBackend(Protocol):
    """A database's full-text index. Methods take the caller's session and never commit."""

    def put(self, s: Session, docs: list[IndexDoc]) -> None:
        """Insert or replace the documents with these keys."""

    def delete(self, s: Session, keys: list[int]) -> None:
        """Remove documents (unknown keys are ignored)."""

    def clear(self, s: Session) -> None:
        """Remove every document."""

    def count(self, s: Session) -> int:
        """How many documents are indexed."""

    def search(self, s: Session, query: Query, facets: FacetFilter, *, lo: int | None = None,
               hi: int | None = None, cap: int = 200) -> list[Hit]:
        """At most ``cap`` matching documents with ``lo <= key <= hi``, newest (highest key) first."""


def backend_for(s: Session) -> SearchBackend:
    """The backend for the session's database."""
    name = s.get_bind().dialect.name
    if name == "postgresql":
        from storage.search.postgresql import PostgresBackend

        return PostgresBackend()
    if name == "sqlite":
        from storage.search.sqlite import SqliteBackend

        return SqliteBackend()
    raise NotImplementedError(f"archive search does not support the {name} database")
