"""Test receivers: a programmable HTTP endpoint that answers from a script of status codes."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedEndpoint:
    """Answers the n-th POST with ``statuses[n]`` (the last one repeats); records idempotency keys."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.keys: list[str] = []
        self.bodies: list[dict] = []
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with endpoint.lock:
                    n = len(endpoint.keys)
                    endpoint.keys.append(self.headers.get("Idempotency-Key", ""))
                    endpoint.bodies.append(json.loads(body or b"{}"))
                status = endpoint.statuses[min(n, len(endpoint.statuses) - 1)]
                body = json.dumps({"receipt_id": f"r{n}"} if status < 300 else {"error": "boom"}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/in"


@contextmanager
def scripted(statuses: list[int]) -> Iterator[ScriptedEndpoint]:
    ep = ScriptedEndpoint(statuses)
    t = threading.Thread(target=ep.server.serve_forever, daemon=True)
    t.start()
    try:
        yield ep
    finally:
        ep.server.shutdown()
        ep.server.server_close()
