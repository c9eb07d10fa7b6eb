"""E-board mode: show slides on the board's screen.

The agent serves a tiny kiosk page on loopback (``http://127.0.0.1:8765/`` by default) that a browser in
kiosk mode displays full screen (``chromium --kiosk --noerrdialogs http://127.0.0.1:8765/``); the page asks
``/state.json`` every second and swaps the image. For LED controllers or image viewers driven by a file,
the agent also keeps ``<state>/current-slide`` (absolute path of the slide on screen, empty when idle) and the
symlink ``<state>/current-slide.png`` up to date.
"""

import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from device_agent.cache import NAME, FileCache
from device_agent.clock import Clock

log = logging.getLogger(__name__)

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>bantin</title>
<style>
html,body{margin:0;height:100%;background:#000;color:#fff;font-family:"Noto Sans",sans-serif;overflow:hidden}
#slide{position:absolute;inset:0;width:100%;height:100%;object-fit:contain}
#bar{position:absolute;left:0;right:0;bottom:0;padding:.4em 1em;font-size:2.2vh;background:rgba(0,0,0,.6)}
#bar.khan_cap{background:#b00020;font-weight:bold}
#idle{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;font-size:6vh}
</style></head>
<body><img id="slide" alt=""><div id="idle">Bảng tin điện tử</div><div id="bar"></div>
<script>
let shown = null;
async function tick() {
  try {
    const s = await (await fetch("/state.json", {cache: "no-store"})).json();
    const img = document.getElementById("slide"), idle = document.getElementById("idle");
    const bar = document.getElementById("bar");
    if (s.slide !== shown) { shown = s.slide; if (s.slide) { img.src = "/slides/" + s.slide; } }
    img.style.display = s.slide ? "block" : "none";
    idle.style.display = s.slide ? "none" : "flex";
    bar.textContent = s.slide ? (s.priority === "khan_cap" ? "KHẨN CẤP — " : "") + (s.title || "") : "";
    bar.className = s.priority || "";
  } catch (e) { /* the agent restarts: keep the last slide */ }
}
setInterval(tick, 1000); tick();
</script></body></html>
"""


class Board:
    """What the screen shows now, the kiosk server, and the slide-by-slide display of an item."""

    def __init__(self, cache: FileCache, state_dir: Path, clock: Clock, slide_seconds: float) -> None:
        self.cache = cache
        self.state_dir = state_dir
        self.clock = clock
        self.slide_seconds = slide_seconds
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"slide": None, "title": None, "priority": None, "item_id": None}
        self._server: ThreadingHTTPServer | None = None
        self._write_current(None)

    @property
    def current(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def show(self, item: dict[str, Any], stop: threading.Event) -> bool:
        """Show the item's slides in order, ``slide_seconds`` each; False when interrupted."""
        try:
            for ref in item.get("slides") or []:
                self._set(ref["name"], item)
                if self.clock.wait(self.slide_seconds, stop):
                    return False
            return True
        finally:
            self._set(None, None)

    def _set(self, name: str | None, item: dict[str, Any] | None) -> None:
        with self._lock:
            self._state = {"slide": name, "title": item.get("title") if item else None,
                           "priority": item.get("priority") if item else None,
                           "item_id": item.get("item_id") if item else None}
        self._write_current(self.cache.path(name) if name else None)

    def _write_current(self, path: Path | None) -> None:
        text_file = self.state_dir / "current-slide"
        tmp = text_file.with_name("current-slide.tmp")
        tmp.write_text(str(path) if path else "", encoding="utf-8")
        os.replace(tmp, text_file)
        link = self.state_dir / "current-slide.png"
        tmp_link = self.state_dir / "current-slide.png.tmp"
        tmp_link.unlink(missing_ok=True)
        if path:
            tmp_link.symlink_to(path)
            os.replace(tmp_link, link)
        else:
            link.unlink(missing_ok=True)

    def serve(self, host: str, port: int) -> int:
        """Start the kiosk page server in a thread; returns the bound port (0 picks a free one)."""
        board = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path in ("/", "/index.html"):
                    self._send(200, "text/html; charset=utf-8", PAGE.encode("utf-8"))
                elif self.path == "/state.json":
                    self._send(200, "application/json", json.dumps(board.current).encode("utf-8"))
                elif self.path.startswith("/slides/"):
                    name = self.path.removeprefix("/slides/")
                    if not NAME.match(name) or not board.cache.has(name):
                        self._send(404, "text/plain", b"not found")
                    else:
                        kind = "image/png" if name.endswith(".png") else "application/octet-stream"
                        self._send(200, kind, board.cache.path(name).read_bytes())
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, code: int, kind: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("kiosk: " + fmt, *args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, name="kiosk", daemon=True).start()
        bound = int(self._server.server_address[1])
        log.info("e-board kiosk page on http://%s:%d/", host, bound)
        return bound

    def close(self) -> None:
        """Stop the kiosk page server."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
