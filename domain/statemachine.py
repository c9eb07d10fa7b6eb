"""One explicit transition table per state machine, and one function that enforces it."""

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from domain.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


def check_transition(machine: str, table: Mapping[S, frozenset[S]], current: S, target: S) -> S:
    """Return ``target`` if ``current -> target`` is an edge of ``table``.

    Args:
        machine: name used in the error message ("package", "delivery").
        table: every state mapped to the states it may move to.
        current: the state now.
        target: the state asked for.

    Raises:
        InvalidTransition: the edge is not in the table.
    """
    if target not in table.get(current, frozenset()):
        raise InvalidTransition(machine, current.value, target.value)
    return target
