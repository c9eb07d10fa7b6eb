"""Which failures are worth retrying. Validation, rule and engine errors are permanent: retrying
them only delays the clear error the operator needs."""

from typing import Any

import httpx
import urllib3.exceptions
from sqlalchemy.exc import IntegrityError

from storage.errors import ChecksumMismatch, ObjectNotFound, StorageError


class TransientError(Exception):
    """A failure that may pass by itself (a receiver's 5xx, a timeout)."""


_PERMANENT_STORAGE = (ObjectNotFound, ChecksumMismatch)
_TRANSIENT = (TransientError, httpx.TransportError, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)


UNIQUE_VIOLATION = "23505"  # SQLSTATE of a duplicate key (PostgreSQL)


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether a database refused a row because a unique key is already taken (PostgreSQL's SQLSTATE 23505,
    SQLite's "UNIQUE constraint failed"), as opposed to a missing reference, a NULL or a failed check."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state is not None:
        return bool(state == UNIQUE_VIOLATION)
    return "UNIQUE constraint failed" in str(orig)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may pass by itself on a retry of the same step.

    A unique-key violation is one for the steps retried with :data:`RETRY_TRANSIENT`: each is idempotent (it
    reads what exists and writes what is missing), so the violation means another run wrote the same entry
    between this attempt's read and its insert; the attempt's transaction is rolled back whole, and the retry
    reads that entry and updates it. Other integrity errors (a missing reference, a NULL) are permanent.
    """
    if isinstance(exc, _PERMANENT_STORAGE):
        return False
    if isinstance(exc, IntegrityError):
        return is_unique_violation(exc)
    return isinstance(exc, _TRANSIENT + (StorageError,))


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn`` for Prefect tasks: retry only transient failures."""
    exc = state.data if isinstance(state.data, BaseException) else None
    return exc is not None and is_transient(exc)


# A step's task options: two retries (after 1 s and 5 s) of transient failures only (``@task(**RETRY_TRANSIENT)``);
# only for idempotent steps (see is_transient).
RETRY_TRANSIENT: dict[str, Any] = {"retries": 2, "retry_delay_seconds": [1, 5],
                                   "retry_condition_fn": retry_if_transient}
