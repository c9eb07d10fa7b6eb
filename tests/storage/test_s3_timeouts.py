"""A hung S3 server fails a storage call within the configured timeouts, not the SDK's default 300 s."""

import socket
import threading
import time

import pytest

from storage.errors import StorageError
from storage.objects import S3ObjectStore


def test_hung_s3_server_fails_fast() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_hang() -> None:  # accepts connections, never answers
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    t = threading.Thread(target=accept_and_hang, daemon=True)
    t.start()
    try:
        store = S3ObjectStore(endpoint=f"127.0.0.1:{listener.getsockname()[1]}", access_key="k", secret_key="s",
                              bucket="bantin-test", secure=False, connect_timeout_s=0.5, read_timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(StorageError):
            store.get_bytes("audio/x.mp3")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        listener.close()
    # one read retry at most: ~2 x 0.5 s plus backoff, far below the SDK default of 300 s
    assert elapsed < 4.0
