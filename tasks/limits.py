"""Concurrency limits shared by tasks and flows.

Heavy ML work (Whisper, translation, TTS models) runs inside :func:`ml_slot`, which holds one slot of the
Prefect global concurrency limit ``bantin-ml``. Deployments create that limit (its size is how many heavy
jobs a worker fleet runs at once); when it does not exist, as under the ephemeral API, the slot is a no-op
rather than an error, so local runs need no set-up.

The per-minute ``due`` run holds the one slot of ``bantin-due`` (:func:`only_one`): a run that comes due while
the previous one still works skips its turn. Scheduled programme builds and report runs do the same with
``bantin-program`` and ``bantin-reports`` (:func:`one_at_a_time`). Slots are leased for :data:`LEASE_S` and
renewed while held, so the slot of a run whose worker was killed (``kill -9``, a lost machine) frees itself
within a minute; a deployment's own concurrency limit is leased for five minutes, which would hold crash
recovery (and the next builds) back that long.
"""

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext

ML_LIMIT = "bantin-ml"
DUE_LIMIT = "bantin-due"
PROGRAM_LIMIT = "bantin-program"
REPORTS_LIMIT = "bantin-reports"
ONE_SLOT_LIMITS = (DUE_LIMIT, PROGRAM_LIMIT, REPORTS_LIMIT)  # one slot each; deployments.setup creates them
LEASE_S = 60.0  # the shortest lease a Prefect server grants


@contextmanager
def ml_slot() -> Iterator[None]:
    """Hold one slot of the ``bantin-ml`` global concurrency limit for the duration of the block."""
    from prefect.concurrency.sync import concurrency

    with concurrency(ML_LIMIT, occupy=1, lease_duration=LEASE_S, strict=False):
        yield


class _QuietRefusal(logging.Filter):
    """Prefect's slot service logs an error for every refused acquisition before raising it; a refusal without
    retries (``max_retries`` 0: :func:`only_one` asking without waiting) is an answer, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        item = args[1] if len(args) == 2 else None
        return not (args and args[0] == "ConcurrencySlotAcquisitionWithLeaseService" and isinstance(item, tuple)
                    and len(item) > 3 and item[3] == 0)


_QUIET = _QuietRefusal()


@contextmanager
def only_one(name: str) -> Iterator[bool]:
    """Hold the slot of the global concurrency limit ``name`` for the block if it is free, without waiting.

    Yields:
        True when held (or when the limit does not exist: nothing to hold), False when another run holds it.
    """
    from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError
    from prefect.concurrency.sync import concurrency

    logging.getLogger("prefect._internal.concurrency").addFilter(_QUIET)  # once: a filter is added only once
    with ExitStack() as stack:
        try:
            stack.enter_context(concurrency(name, occupy=1, max_retries=0, lease_duration=LEASE_S, strict=False))
            held = True
        except ConcurrencySlotAcquisitionError:
            held = False
        yield held


def one_at_a_time(name: str, skip_if_busy: bool) -> AbstractContextManager[bool]:
    """:func:`only_one` for a scheduled run (``skip_if_busy``: its deployment passes it), else nothing to hold
    (a build an operator asked for runs whatever runs beside it).

    Returns:
        A context manager yielding whether this run may go on.
    """
    return only_one(name) if skip_if_busy else nullcontext(True)
