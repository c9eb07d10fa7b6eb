"""CLI commands reuse the local Prefect server recorded under the home (no temporary server per command)."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from settings import Settings, configure_prefect_env, local_server_file


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"true" if self.path == "/api/health" else b"false"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_recorded_server_that_answers_is_used_and_a_dead_one_is_not(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))  # what configure_prefect_env sets ends with the test
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    settings = Settings(home=tmp_path)
    record = local_server_file(settings)
    record.parent.mkdir(parents=True)

    configure_prefect_env(settings)  # nothing recorded: flows would use Prefect's temporary server
    assert "PREFECT_API_URL" not in os.environ

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api"
    record.write_text(json.dumps({"api_url": url, "pid": 1}), encoding="utf-8")
    try:
        configure_prefect_env(settings)
        assert os.environ["PREFECT_API_URL"] == url
    finally:
        server.shutdown()
        server.server_close()

    del os.environ["PREFECT_API_URL"]
    configure_prefect_env(settings)  # the recorded server is gone: not used
    assert "PREFECT_API_URL" not in os.environ
