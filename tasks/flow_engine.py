"""One adjustment to Prefect's synchronous flow engine: a finished flow run does not wait for its heartbeat thread.

Prefect's flow engine (``prefect.flow_engine._send_heartbeats``) sends a flow run's heartbeats from a thread that
sleeps in one-second steps, and the synchronous engine joins that thread when the run ends: every sync flow run
(ours all are) took up to a second longer than its work, 0.5 s on average, and held its warm worker's slot that
long. The asynchronous engine already leaves the thread to notice the stop by itself (``join_on_exit=False``);
:func:`install` makes the synchronous engine do the same. Nothing else changes: the thread checks the stop flag
before every heartbeat, so none is sent after the run ended, and it exits within a second (a daemon thread).

Installed by ``flows`` (every flow module imports it before a flow runs); if a Prefect release drops the
``join_on_exit`` parameter the engine is left as it is.
"""

import functools
import inspect
from contextlib import AbstractContextManager
from typing import Any

from prefect import flow_engine

_MARK = "_bantin_no_join"


def install() -> bool:
    """Make the synchronous flow engine stop waiting for the heartbeat thread at the end of a run (idempotent).

    Returns:
        True when the engine is (now or already) adjusted; False when this Prefect has no such parameter.
    """
    current = flow_engine._send_heartbeats
    if getattr(current, _MARK, False):
        return True
    if "join_on_exit" not in inspect.signature(current).parameters:
        return False

    @functools.wraps(current)  # __wrapped__: Prefect's own
    def send_heartbeats(engine: Any, join_on_exit: bool = True) -> AbstractContextManager[None]:
        return current(engine, join_on_exit=False)

    setattr(send_heartbeats, _MARK, True)
    flow_engine._send_heartbeats = send_heartbeats  # type: ignore[assignment]  # looked up at each run
    return True
