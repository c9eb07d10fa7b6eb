"""Test receivers: a programmable HTTP endpoint that answers from a script of status codes."""

import json
import threading
import time
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


class EndpointFleet:
    """Many receivers on one loopback server (``/ep/<n>``), each answering from its own script.

    A script step is ``("status", code)`` (answer without keeping the package unless 2xx),
    ``("slow", seconds)`` (keep it, answer 201 after a pause) or ``("timeout", seconds)`` (keep it, but
    answer after the sender has given up: the case where only the idempotency key prevents a duplicate).
    Like a conforming receiver, a re-sent key is answered with the receipt it got the first time.
    """

    def __init__(self, scripts: list[list[tuple[str, float]]]) -> None:
        self.scripts = scripts
        self.keys: list[list[str]] = [[] for _ in scripts]
        self.kept: list[dict[str, str]] = [{} for _ in scripts]  # idempotency key -> receipt
        self.schemas: list[list[str]] = [[] for _ in scripts]
        self.lock = threading.Lock()
        fleet = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.path.rsplit("/", 1)[-1])
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                key = self.headers.get("Idempotency-Key", "")
                with fleet.lock:
                    step = fleet.scripts[n][min(len(fleet.keys[n]), len(fleet.scripts[n]) - 1)]
                    fleet.keys[n].append(key)
                    fleet.schemas[n].append(body.get("schema", ""))
                kind, arg = step
                if kind == "status" and arg >= 300:
                    return self._answer(int(arg), {"error": "injected"})
                if kind in ("slow", "timeout"):
                    time.sleep(arg)
                with fleet.lock:
                    receipt = fleet.kept[n].setdefault(key, f"rcpt-{n}-{len(fleet.kept[n])}")
                try:
                    self._answer(201, {"receipt_id": receipt})
                except OSError:  # the sender gave up waiting (the "timeout" step)
                    pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ep/{n}"


@contextmanager
def fleet(scripts: list[list[tuple[str, float]]]) -> Iterator[EndpointFleet]:
    f = EndpointFleet(scripts)
    t = threading.Thread(target=f.server.serve_forever, daemon=True)
    t.start()
    try:
        yield f
    finally:
        f.server.shutdown()
        f.server.server_close()
