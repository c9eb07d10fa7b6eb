"""Concurrency limits shared by tasks.

Heavy ML work (Whisper, translation, TTS models) runs inside :func:`ml_slot`, which holds one slot of the
Prefect global concurrency limit ``bantin-ml``. Deployments create that limit (its size is how many heavy
jobs a worker fleet runs at once); when it does not exist, as under the ephemeral API, the slot is a no-op
rather than an error, so local runs need no set-up.
"""

from collections.abc import Iterator
from contextlib import contextmanager

ML_LIMIT = "bantin-ml"


@contextmanager
def ml_slot() -> Iterator[None]:
    """Hold one slot of the ``bantin-ml`` global concurrency limit for the duration of the block."""
    from prefect.concurrency.sync import concurrency

    with concurrency(ML_LIMIT, occupy=1, strict=False):
        yield
