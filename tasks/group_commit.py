"""Group commit: many sending threads hand their short state writes to one writer, which commits them in
batches. A fan-out to a thousand receivers then costs tens of commits, not thousands (on SQLite each
commit is an fsync and there is one writer at a time anyway). A caller blocks until its write committed,
so "SENDING is durable before the request goes out" still holds.
"""

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from services.runtime import session

T = TypeVar("T")
MAX_BATCH = 200


class GroupCommitter:
    """``with GroupCommitter() as gc: gc.run(lambda s: ...)``: ``run`` returns after the batch holding the
    write committed. A batch that fails is replayed one write per transaction, so one bad write (e.g. a lost
    compare-and-set) fails only its own caller."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Callable[[Session], Any], Future[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="bantin-group-commit", daemon=True)
        self.commits = 0

    def __enter__(self) -> "GroupCommitter":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()

    def run(self, fn: Callable[[Session], T]) -> T:
        fut: Future[T] = Future()
        self._queue.put((fn, fut))
        return fut.result()

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[tuple[Callable[[Session], Any], Future[Any]]]) -> None:
        try:
            with session() as s:
                results = [fn(s) for fn, _ in batch]
            self.commits += 1
        except Exception:  # replay one by one: only the write that fails reports an error
            for fn, fut in batch:
                try:
                    with session() as s:
                        result = fn(s)
                    self.commits += 1
                    fut.set_result(result)
                except Exception as exc:
                    fut.set_exception(exc)
            return
        for (_, fut), result in zip(batch, results, strict=True):
            fut.set_result(result)
