"""Playing a relay stream (a schedule item of kind ``stream``) until its slot ends.

The player's program pulls the signed listen URL from the installation's Icecast. When it drops (the server
restarts, the network blinks, the mount is briefly empty between the relay and the fallback), it is started
again after a backoff that doubles from 1 s up to 30 s (with jitter, so a commune's boxes do not reconnect in
the same second), until the slot's end on the playout clock or until ``stop`` is set (an emergency, a
withdrawal, shutdown). :class:`StreamStats` says when audio first flowed and how often it reconnected; the
agent shows it in ``status.json``.

The null sink decodes the stream for real with ``ffmpeg -f null`` and reads its progress, so a box without a
sound device still proves the audio reached it.
"""

import logging
import random
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from device_agent.clock import Clock

log = logging.getLogger(__name__)
BACKOFF_MAX_S = 30.0
ALIVE_S = 2.0  # a player without progress output counts as connected once it has run this long
STALL_US = 10_000_000  # ffmpeg gives up on a stream silent for 10 s (then we reconnect)
# Area mounts carry MP3 (the relay flow encodes it): naming the format skips ffmpeg's format probing, which
# takes about 4 s on a live stream; ICY metadata is not needed. Audio then flows within about a second.
FAST_START = ["-f", "mp3", "-icy", "0"]


@dataclass
class StreamStats:
    item_id: str
    connected_at: float | None = None  # playout clock time when audio first flowed
    reconnects: int = 0
    seconds: float = 0.0  # audio decoded (null sink) or played (others), across reconnects
    last_error: str = ""
    _base: float = field(default=0.0, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "connected_at": self.connected_at, "reconnects": self.reconnects,
                "seconds": round(self.seconds, 1), "last_error": self.last_error}


def backoff(attempt: int, rng: random.Random) -> float:
    """Seconds before reconnect number ``attempt`` (1, 2, 4 … 30, each moved by up to 25 %)."""
    return min(BACKOFF_MAX_S, 2.0 ** max(0, attempt - 1)) * rng.uniform(0.75, 1.25)


def null_command(url: str) -> list[str]:
    """Decode the stream and throw the audio away, printing progress (``out_time_us``) on stdout."""
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-rw_timeout", str(STALL_US), *FAST_START,
            "-i", url,
            "-vn", "-f", "null", "-", "-progress", "pipe:1", "-stats_period", "0.2", "-nostats"]


def ffplay_command(url: str, volume: int) -> list[str]:
    return ["ffplay", "-nodisp", "-loglevel", "error", *FAST_START, "-volume", str(volume), url]


def _read_progress(out: IO[bytes], stats: StreamStats, clock: Clock) -> None:
    for raw in iter(out.readline, b""):
        line = raw.decode("ascii", "replace").strip()
        if line.startswith("out_time_us="):
            try:
                us = int(line.split("=", 1)[1])
            except ValueError:
                continue
            if us > 0:
                if stats.connected_at is None:
                    stats.connected_at = clock.time()
                stats.seconds = stats._base + us / 1e6


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def play_stream(launch: Callable[[IO[bytes]], list[subprocess.Popen[bytes]]], until: float, clock: Clock,
                stop: threading.Event, stats: StreamStats, *, progress: bool,
                rng: random.Random | None = None) -> bool:
    """Keep a stream playing until ``until`` (playout clock) or ``stop``.

    Args:
        launch: starts the player's process(es) with stderr to the given file; the last one is watched, and
            with ``progress`` its stdout carries ffmpeg's ``-progress`` lines.

    Returns:
        True when the slot was played to its end with audio reaching the box; False when stopped, or when no
        audio ever came.
    """
    rng = rng or random.Random()
    attempt = 0
    while not stop.is_set() and clock.time() < until:
        with tempfile.TemporaryFile() as err:
            procs = launch(err)
            main = procs[-1]
            reader = None
            if progress and main.stdout is not None:
                reader = threading.Thread(target=_read_progress, args=(main.stdout, stats, clock), daemon=True)
                reader.start()
            started = time.monotonic()
            try:
                while main.poll() is None and not stop.is_set() and clock.time() < until:
                    if not progress and stats.connected_at is None and time.monotonic() - started >= ALIVE_S:
                        stats.connected_at = clock.time()
                    stop.wait(0.1)
            finally:
                _stop(procs)
                if reader is not None:
                    reader.join(timeout=2)
            if not progress:
                stats.seconds += time.monotonic() - started
            stats._base = stats.seconds
            if stop.is_set() or clock.time() >= until:
                break
            stats.last_error = _last_line(err)
        attempt += 1
        stats.reconnects += 1
        wait = backoff(attempt if time.monotonic() - started < 30 else 1, rng)
        log.warning("stream %s dropped (%s); reconnecting in %.1f s", stats.item_id, stats.last_error or "ended",
                    wait)
        stop.wait(wait)
    return not stop.is_set() and clock.time() >= until - 1.0 and stats.connected_at is not None


def _last_line(err: IO[bytes]) -> str:
    err.seek(0)
    lines = err.read(4000).decode("utf-8", "replace").strip().splitlines()
    return lines[-1][:200] if lines else ""
