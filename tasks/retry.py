"""Which failures are worth retrying. Validation, rule and engine errors are permanent: retrying
them only delays the clear error the operator needs."""

from typing import Any

import httpx
import urllib3.exceptions

from storage.errors import ChecksumMismatch, ObjectNotFound, StorageError


class TransientError(Exception):
    """A failure that may pass by itself (a receiver's 5xx, a timeout)."""


_PERMANENT_STORAGE = (ObjectNotFound, ChecksumMismatch)
_TRANSIENT = (TransientError, httpx.TransportError, urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _PERMANENT_STORAGE):
        return False
    return isinstance(exc, _TRANSIENT + (StorageError,))


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn`` for Prefect tasks: retry only transient failures."""
    exc = state.data if isinstance(state.data, BaseException) else None
    return exc is not None and is_transient(exc)


# A step's task options: two retries (after 1 s and 5 s) of transient failures only (``@task(**RETRY_TRANSIENT)``).
RETRY_TRANSIENT: dict[str, Any] = {"retries": 2, "retry_delay_seconds": [1, 5],
                                   "retry_condition_fn": retry_if_transient}
