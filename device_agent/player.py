"""Audio output: ffplay or aplay when the box has a sound device, otherwise a null sink.

The null sink is not a pretend player: it takes the file's real duration (read with ffprobe) on the playout
clock, so play logs, repeats and interruptions behave as on a box with a loudspeaker. Every backend stops at
once when the ``stop`` event is set (an emergency interrupts, a withdrawal stops).
"""

import glob
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from device_agent.clock import Clock
from device_agent.streams import FAST_START, StreamStats, ffplay_command, null_command, play_stream

log = logging.getLogger(__name__)
FALLBACK_SECONDS = 30.0


def sound_device_exists() -> bool:
    """ALSA playback devices, or a PulseAudio/PipeWire server for this user."""
    if glob.glob("/dev/snd/pcmC*D*p"):
        return True
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}")
    return any(Path(runtime, name).exists() for name in ("pulse/native", "pipewire-0"))


def probe_duration(path: Path) -> float:
    """Duration in seconds by ffprobe (``FALLBACK_SECONDS`` when it cannot tell, with a warning)."""
    if shutil.which("ffprobe") is None:
        log.warning("ffprobe not found; assuming %.0f s for %s", FALLBACK_SECONDS, path.name)
        return FALLBACK_SECONDS
    try:
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                              str(path)], capture_output=True, text=True, timeout=30)
    except (subprocess.TimeoutExpired, OSError) as exc:  # a hung or broken ffprobe must not stop playout
        log.warning("ffprobe failed on %s (%s); assuming %.0f s", path.name, exc, FALLBACK_SECONDS)
        return FALLBACK_SECONDS
    try:
        return float(out.stdout.strip())
    except ValueError:
        log.warning("ffprobe cannot read %s (%s); assuming %.0f s", path.name, out.stderr.strip()[:200],
                    FALLBACK_SECONDS)
        return FALLBACK_SECONDS


class Player(Protocol):
    name: str

    def play(self, path: Path, volume: int, stop: threading.Event) -> bool:
        """Play ``path`` at ``volume`` percent; True when it played to the end, False when stopped."""
        ...

    def stream(self, url: str, until: float, volume: int, stop: threading.Event, stats: StreamStats) -> bool:
        """Play a live stream until ``until`` (playout clock), reconnecting with backoff; True when it played
        to the slot's end, False when stopped or when no audio ever came."""
        ...


def _end(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _run_until(cmd: list[str], stop: threading.Event, stdin: int | None = None, limit_s: float | None = None) -> bool:
    """Run a player command until it ends, ``stop`` is set, or ``limit_s`` real seconds pass.

    Returns:
        True when the command played to the end (exit status 0); False when stopped, killed or failed.
    """
    # stderr goes to a file, not a pipe: nobody reads a pipe while the player runs, and ffmpeg printing one
    # line per broken frame would fill it (64 KiB) and block the player for ever
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=err)
        deadline = None if limit_s is None else time.monotonic() + limit_s
        while proc.poll() is None:
            if stop.wait(0.1):
                _end(proc)
                return False
            if deadline is not None and time.monotonic() > deadline:  # a hung audio device or player
                log.error("%s still running after %.0f s: killed", cmd[0], limit_s)
                _end(proc)
                return False
        if proc.returncode != 0:
            err.seek(0)
            log.error("%s exited with %s: %s", cmd[0], proc.returncode, err.read(300).decode("utf-8", "replace"))
    return proc.returncode == 0


def time_limit(path: Path) -> float:
    """Real seconds after which a player playing ``path`` counts as hung: twice its duration plus a minute."""
    return 2 * probe_duration(path) + 60


class FfplayPlayer:
    name = "ffplay"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def play(self, path: Path, volume: int, stop: threading.Event) -> bool:
        return _run_until(["ffplay", "-nodisp", "-autoexit", "-loglevel", "error", "-volume", str(volume),
                           str(path)], stop, limit_s=time_limit(path))

    def stream(self, url: str, until: float, volume: int, stop: threading.Event, stats: StreamStats) -> bool:
        def launch(err: Any) -> list[subprocess.Popen[bytes]]:
            return [subprocess.Popen(ffplay_command(url, volume), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=err)]
        return play_stream(launch, until, self.clock, stop, stats, progress=False)


class AplayPlayer:
    """ffmpeg decodes (any format, with the volume applied) into aplay's standard input."""

    name = "aplay"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def play(self, path: Path, volume: int, stop: threading.Event) -> bool:
        decoder = subprocess.Popen(["ffmpeg", "-v", "error", "-i", str(path), "-af", f"volume={volume / 100:.2f}",
                                    "-f", "wav", "-"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            return _run_until(["aplay", "-q", "-"], stop, stdin=decoder.stdout.fileno() if decoder.stdout else None,
                              limit_s=time_limit(path))
        finally:
            decoder.kill()
            decoder.wait()

    def stream(self, url: str, until: float, volume: int, stop: threading.Event, stats: StreamStats) -> bool:
        def launch(err: Any) -> list[subprocess.Popen[bytes]]:
            decoder = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", *FAST_START, "-i", url, "-af",
                                        f"volume={volume / 100:.2f}", "-f", "wav", "-"], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=err)
            out = subprocess.Popen(["aplay", "-q", "-"], stdin=decoder.stdout, stdout=subprocess.DEVNULL, stderr=err)
            return [decoder, out]
        return play_stream(launch, until, self.clock, stop, stats, progress=False)


class NullSink:
    """No sound device: spend the file's real duration on the playout clock, interruptible."""

    name = "null"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._durations: dict[str, float] = {}

    def play(self, path: Path, volume: int, stop: threading.Event) -> bool:
        seconds = self._durations.get(path.name)
        if seconds is None:
            seconds = self._durations[path.name] = probe_duration(path)
        return not self.clock.wait(seconds, stop)

    def stream(self, url: str, until: float, volume: int, stop: threading.Event, stats: StreamStats) -> bool:
        """Decode the stream for real (``ffmpeg -f null``): the audio reaches the box, nothing sounds."""
        def launch(err: Any) -> list[subprocess.Popen[bytes]]:
            return [subprocess.Popen(null_command(url), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)]
        return play_stream(launch, until, self.clock, stop, stats, progress=True)


def make_player(choice: str, clock: Clock) -> Player:
    """``auto``: ffplay (or ffmpeg+aplay) when a sound device exists, else the null sink.

    Raises:
        ValueError: a named player whose program is not installed.
    """
    if choice == "auto":
        if sound_device_exists():
            if shutil.which("ffplay"):
                return FfplayPlayer(clock)
            if shutil.which("aplay") and shutil.which("ffmpeg"):
                return AplayPlayer(clock)
            log.warning("a sound device exists but neither ffplay nor aplay is installed: null sink")
        return NullSink(clock)
    if choice == "ffplay":
        if not shutil.which("ffplay"):
            raise ValueError("--player ffplay: ffplay is not installed (apt-get install ffmpeg)")
        return FfplayPlayer(clock)
    if choice == "aplay":
        if not (shutil.which("aplay") and shutil.which("ffmpeg")):
            raise ValueError("--player aplay: needs aplay and ffmpeg (apt-get install alsa-utils ffmpeg)")
        return AplayPlayer(clock)
    return NullSink(clock)
