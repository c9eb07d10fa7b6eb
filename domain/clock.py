"""Instants as bantin keeps them: timezone-aware UTC (pure; no I/O).

Stored times come back naive from SQLite's plain columns and from aggregates (``min()``, ``max()``) that skip
the column type: :func:`as_utc` reads such a value as the UTC it was written in. Times given by a caller must
carry their zone: :func:`require_aware` refuses a naive one rather than guess it.
"""

from datetime import UTC, datetime

from domain.errors import InvalidInput


def as_utc(value: datetime) -> datetime:
    """``value`` with its zone; a naive value (a stored time read back without one) as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def require_aware(value: datetime) -> datetime:
    """``value`` itself, once it is known to carry a time zone.

    Raises:
        InvalidInput: a naive datetime (which zone it meant is unknown).
    """
    if value.tzinfo is None:
        raise InvalidInput("times must carry a time zone (got a naive datetime)")
    return value
