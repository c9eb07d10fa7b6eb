"""Carriers of relay airings and live sessions: the process feeding a mount marks what it carries alive, and the
sweeper fails what a silent carrier left on the air.

One mechanism for both. Every ``BANTIN_CARRIER_HEARTBEAT_S`` (:class:`Pulse`) the carrier writes the time into
``updated_at`` of its rows still in a carrying state, in one compare-and-set ``UPDATE`` (:func:`beat`): a row the
sweeper or an officer moved meanwhile is left alone, and the count tells the carrier so. The sweeper judges by
that time: a row silent for ``BANTIN_CARRIER_TIMEOUT_S``, or that long past its end, has lost its carrier
(:func:`overdue`).
"""

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from domain.clock import as_utc
from settings import get_settings
from storage.db import rowcount
from storage.models_live import LiveSessionRecord
from storage.models_relays import RelayRunRecord

Carried = type[RelayRunRecord] | type[LiveSessionRecord]


def heartbeat_s() -> float:
    """How often a carrier marks what it carries alive (``BANTIN_CARRIER_HEARTBEAT_S``)."""
    return get_settings().carrier_heartbeat_s


def timeout() -> timedelta:
    """How long a carrier may stay silent before the sweeper fails what it carried (``BANTIN_CARRIER_TIMEOUT_S``)."""
    return timedelta(seconds=get_settings().carrier_timeout_s)


def overdue(since: datetime, now: datetime) -> bool:
    """More than the carrier timeout has passed from ``since`` (a heartbeat, an end; naive: stored UTC) to ``now``."""
    return now - as_utc(since) > timeout()


class Pulse:
    """When the next heartbeat is due, on the carrier's own (injected) monotonic clock."""

    def __init__(self, last: float = -math.inf) -> None:
        self.last = last  # the clock at the last heartbeat; -inf: the first call is due

    def due(self, now: float) -> bool:
        """Whether a heartbeat is due at ``now``; if so, it counts as sent."""
        if now - self.last < heartbeat_s():
            return False
        self.last = now
        return True


def beat(s: Session, model: Carried, where: ColumnElement[bool], carrying: Iterable[StrEnum], now: datetime) -> int:
    """Mark alive at ``now`` the rows of ``model`` matching ``where`` that are still in a ``carrying`` state;
    how many (compare-and-set: a row moved out of those states meanwhile is not touched)."""
    states = sorted(c.value for c in carrying)
    return rowcount(s.execute(update(model).where(where, model.status.in_(states)).values(updated_at=now)))
