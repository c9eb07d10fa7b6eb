"""A finished flow run does not wait for its heartbeat thread (``tasks.flow_engine``): Prefect's thread sleeps in
one-second steps and the synchronous engine joined it, so every run ended up to a second after its work."""

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from prefect import flow_engine

from tasks.flow_engine import install


class FakeEngine:
    """What ``_send_heartbeats`` reads of a flow run engine; counts the heartbeats sent."""

    heartbeat_seconds = 30
    flow_run = None
    logger = logging.getLogger("test.heartbeats")

    def __init__(self) -> None:
        self.sent = 0
        self.first = threading.Event()

    def _build_heartbeat_event_template(self) -> tuple[object, object]:
        return {"resource": 1}, []

    def _emit_flow_run_heartbeat(self, resource: object, related: object) -> None:
        self.sent += 1
        self.first.set()


@pytest.fixture
def prefects_own(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Prefect's engine as shipped (``flows`` may have adjusted it already in this process)."""
    current = flow_engine._send_heartbeats
    if getattr(current, "_bantin_no_join", False):
        current = current.__wrapped__  # type: ignore[attr-defined]  # set by functools.wraps
    monkeypatch.setattr(flow_engine, "_send_heartbeats", current)
    yield


def _run_briefly(engine: FakeEngine) -> float:
    """Seconds the engine's heartbeat context takes to exit right after the first heartbeat."""
    before = set(threading.enumerate())
    with flow_engine._send_heartbeats(engine):  # type: ignore[arg-type]  # the attributes it reads
        assert engine.first.wait(10)
        start = time.perf_counter()
    took = time.perf_counter() - start
    for thread in set(threading.enumerate()) - before:
        thread.join(5)  # the heartbeat thread notices the stop by itself
        assert not thread.is_alive()
    return took


def test_the_end_of_a_run_does_not_wait_for_the_heartbeat_thread(prefects_own: None) -> None:
    assert install()
    engine = FakeEngine()
    assert _run_briefly(engine) < 0.5  # Prefect's own waits for the thread's next one-second step
    assert engine.sent == 1  # none after the run ended


def test_prefects_own_engine_waits_for_the_next_step(prefects_own: None) -> None:
    """What install() removes (if this fails, Prefect no longer waits and the adjustment can go)."""
    assert _run_briefly(FakeEngine()) > 0.5


def test_install_is_idempotent(prefects_own: None) -> None:
    assert install()
    adjusted = flow_engine._send_heartbeats
    assert install()
    assert flow_engine._send_heartbeats is adjusted
    assert getattr(adjusted, "_bantin_no_join", False)
