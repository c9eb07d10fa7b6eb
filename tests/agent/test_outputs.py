"""Outputs: the null sink takes the file's real duration (ffprobe) and stops when interrupted; the e-board
kiosk page serves the slide on screen and refuses anything that is not a cached file."""

import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from device_agent.board import Board
from device_agent.cache import FileCache
from device_agent.clock import Clock
from device_agent.player import NullSink, make_player, probe_duration
from tests.agent.helpers import item, ref
from tests.conftest import unavailable


@pytest.fixture
def two_second_wav(tmp_path: Path) -> Path:
    if shutil.which("ffmpeg") is None:
        unavailable("ffmpeg is not installed")
    path = tmp_path / "tone.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-ar", "8000",
                    str(path)], check=True)
    return path


def test_null_sink_spends_the_real_duration_on_the_playout_clock(two_second_wav: Path) -> None:
    assert abs(probe_duration(two_second_wav) - 2.0) < 0.05
    clock = Clock(scale=20.0)  # twenty times faster: 2 s of audio take 0.1 s
    sink = NullSink(clock)
    t0, c0 = time.monotonic(), clock.time()
    assert sink.play(two_second_wav, 80, threading.Event()) is True
    assert 0.08 < time.monotonic() - t0 < 1.5 and clock.time() - c0 >= 2.0
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    assert NullSink(Clock(scale=1.0)).play(two_second_wav, 80, stop) is False  # interrupted
    assert make_player("null", clock).name == "null"


def test_kiosk_serves_the_current_slide_and_nothing_else(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"slide" * 10
    r = ref(png, "png")
    cache = FileCache(tmp_path / "files")
    (cache.root / r["name"]).write_bytes(png)
    (tmp_path / "secret.txt").write_text("no", encoding="utf-8")
    board = Board(cache, tmp_path, Clock(scale=1.0), slide_seconds=30.0)
    port = board.serve("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}"
    try:
        assert "Bảng tin điện tử" in httpx.get(base + "/").text
        it = item("s", slides=[r], priority="khan_cap")
        done: list[bool] = []
        stop = threading.Event()
        t = threading.Thread(target=lambda: done.append(board.show(it, stop)))
        t.start()
        deadline = time.monotonic() + 5
        while board.current["slide"] is None and time.monotonic() < deadline:
            time.sleep(0.01)
        state = httpx.get(base + "/state.json").json()
        assert state["slide"] == r["name"] and state["priority"] == "khan_cap"
        assert httpx.get(base + f"/slides/{r['name']}").content == png
        assert (tmp_path / "current-slide").read_text(encoding="utf-8") == str(cache.root / r["name"])
        assert (tmp_path / "current-slide.png").resolve() == (cache.root / r["name"]).resolve()
        for bad in ("/slides/../secret.txt", "/slides/..%2f..%2fsecret.txt", f"/slides/{'0' * 64}.png", "/etc"):
            assert httpx.get(base + bad).status_code == 404
        stop.set()  # an emergency or a withdrawal takes the slide off at once
        t.join(timeout=5)
        assert done == [False]
        assert httpx.get(base + "/state.json").json()["slide"] is None  # back to idle
        assert (tmp_path / "current-slide").read_text(encoding="utf-8") == ""
    finally:
        board.close()


def test_ffplay_plays_to_the_end_and_stops_when_interrupted(two_second_wav: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("ffplay") is None:
        unavailable("ffplay is not installed (apt-get install ffmpeg)")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")  # a real ffplay process, its output on SDL's dummy device
    player = make_player("ffplay", Clock())
    t0 = time.monotonic()
    assert player.play(two_second_wav, 60, threading.Event()) is True
    assert time.monotonic() - t0 >= 1.9  # real playback takes the file's duration
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    t0 = time.monotonic()
    assert player.play(two_second_wav, 60, stop) is False
    assert time.monotonic() - t0 < 1.8  # cut at once
