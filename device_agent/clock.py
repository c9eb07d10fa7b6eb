"""The agent's playout clock: real time, optionally shifted and sped up for tests and demonstrations.

Scheduling decisions, play-log times and quiet hours use this clock; network timing (poll interval, retry
back-off, request timestamps) always uses the real clock, so a sped-up agent still talks to a real server
correctly. The mapping is piecewise linear: ``sim(t) = anchor_sim + (t - anchor_real) * scale``.

In test mode (environment variable ``BANTIN_DEVICE_CLOCK_FILE`` names a JSON file) the mapping can be changed
while the agent runs: ``{"scale": 7200}`` makes a day pass in 12 s from the moment the file changes;
``{"scale": 1, "offset": 0}`` returns to real time (``offset`` re-anchors the clock at real time + offset).
"""

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)
CLOCK_FILE_ENV = "BANTIN_DEVICE_CLOCK_FILE"
JUMP_S = 2.0  # a system-clock step larger than this (beyond the elapsed real time) makes the planner re-plan


class Clock:
    """Simulated wall clock (seconds since the epoch) with interruptible sleeps measured on it."""

    def __init__(self, offset_s: float = 0.0, scale: float = 1.0, control_file: Path | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._lock = threading.Lock()
        self._wall = time.time  # the system clock (NTP may step it: a box without RTC boots with a stale one)
        self._anchor_real = self._wall()
        self._anchor_sim = self._anchor_real + offset_s
        self._scale = scale
        self._control = control_file
        self._control_mtime: int | None = None
        self._generation = 0

    @property
    def scale(self) -> float:
        self._reload()
        return self._scale

    @property
    def generation(self) -> int:
        """Changes whenever the control file re-anchors the clock."""
        self._reload()
        return self._generation

    def time(self) -> float:
        """Simulated seconds since the epoch."""
        self._reload()
        with self._lock:
            return self._anchor_sim + (self._wall() - self._anchor_real) * self._scale

    def now(self) -> datetime:
        """Simulated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    def real_seconds(self, sim_seconds: float) -> float:
        """How long ``sim_seconds`` of playout time last in real time at the current speed."""
        return max(0.0, sim_seconds) / self.scale

    def wait(self, sim_seconds: float, stop: threading.Event, max_real: float = 1.0,
             wake_on_jump: bool = False) -> bool:
        """Let ``sim_seconds`` of playout time pass unless ``stop`` is set; True when interrupted.

        Counts elapsed time slice by slice (at most ``max_real`` real seconds each) at the current speed, so a
        change of speed applies at once and a jump of the clock does not shorten or stretch a play. With
        ``wake_on_jump`` it returns early (False) when the clock is re-anchored or the system clock is stepped
        (NTP setting a stale boot clock right): the planner's wake-up time was computed on the old clock, and
        sleeping it out would miss every slot the jump skipped over.
        """
        remaining = sim_seconds
        generation = self.generation
        while remaining > 0:
            scale = self.scale
            if self.generation != generation:
                if wake_on_jump:
                    return stop.is_set()
                generation = self.generation
            started, wall = time.monotonic(), self._wall()
            if stop.wait(min(remaining / scale, max_real)):
                return True
            elapsed = time.monotonic() - started
            if wake_on_jump and abs(self._wall() - wall - elapsed) > JUMP_S:
                log.warning("system clock stepped by %+.0f s: re-planning", self._wall() - wall - elapsed)
                return stop.is_set()
            remaining -= elapsed * scale
        return stop.is_set()

    def _reload(self) -> None:
        if self._control is None:
            return
        try:
            mtime = self._control.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._control_mtime:
            return
        try:
            spec = json.loads(self._control.read_text(encoding="utf-8"))
            scale = float(spec.get("scale", 1.0))
            offset = spec.get("offset")
            if scale <= 0:
                raise ValueError("scale must be positive")
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("clock control file %s ignored: %s", self._control, exc)
            self._control_mtime = mtime
            return
        with self._lock:
            now_real = self._wall()
            current = self._anchor_sim + (now_real - self._anchor_real) * self._scale
            self._anchor_real = now_real
            self._anchor_sim = now_real + float(offset) if offset is not None else current
            self._scale = scale
            self._control_mtime = mtime
            self._generation += 1
        log.info("clock: scale %s, now %s", scale, datetime.fromtimestamp(self._anchor_sim, UTC).isoformat())
