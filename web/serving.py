"""The web app under uvicorn in a thread of this process, on loopback: the demo (its receiver fetches the
assets from it) and tests. Production runs ``bantin serve``."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from web.app import SERVER_OPTIONS


@contextmanager
def serve_in_thread(app: Any, port: int, host: str = "127.0.0.1", start_timeout_s: float = 30.0) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://host:port``)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                           **SERVER_OPTIONS))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the web app did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
