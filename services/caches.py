"""Everything a process keeps in memory about its installation, owned by one object with one reset.

Polls are the hot path (every device, every minute), so a node answers them from memory for a few seconds:
device keys, the area map, retired areas, built schedules (``BANTIN_DEVICE_CACHE_S``,
``BANTIN_DEVICE_SCHEDULE_TTL_S``, ``BANTIN_AREA_CACHE_S``). The settings and what is built from them (the
object store, the signing keys read from the home, fonts, the feedback configuration) are kept for the life of
the process. All of it lives in :data:`CACHES`; :meth:`Caches.reset` (``services.runtime.reset``: tests that
switch installations) drops every one. Expiry reads :attr:`Caches.clock` (monotonic seconds), which tests
replace instead of sleeping.

Not kept here: memos of what ships with the code and never changes with the installation (the bundled area
conversion table, intake rules, the password hasher, loaded models in ``engines``), and the database engines
(``storage.db.get_engine``, one connection pool per URL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from settings import get_settings

if TYPE_CHECKING:
    from domain.areas import Area
    from services.device_schedule import AreaSchedule, BuiltSchedule
    from services.devices import DeviceAuth
    from services.feedback_config import FeedbackConfig
    from services.signing import KeyState
    from storage.objects import ObjectStore

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Entry(Generic[V]):
    """A cached value and when (``Caches.clock``) it was stored."""

    stored_at: float
    value: V


class Cache(Generic[K, V]):
    """A thread-safe map whose entries expire ``ttl()`` seconds after they were stored (``ttl`` is read at each
    lookup, so changed settings apply at once; ``None``: entries never expire, only a reset drops them)."""

    def __init__(self, owner: Caches, name: str, ttl: Callable[[], float] | None = None) -> None:
        self.name = name
        self._owner = owner
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[K, Entry[V]] = {}

    def entry(self, key: K) -> Entry[V] | None:
        """The entry for ``key`` if there is one still within its time to live."""
        hit = self._entries.get(key)
        if hit is None:
            return None
        if self._ttl is not None and self._owner.clock() - hit.stored_at > self._ttl():
            return None
        return hit

    def get(self, key: K) -> V | None:
        hit = self.entry(key)
        return None if hit is None else hit.value

    def put(self, key: K, value: V) -> V:
        with self._lock:
            self._entries[key] = Entry(self._owner.clock(), value)
        return value

    def get_or_build(self, key: K, build: Callable[[], V]) -> V:
        """The live value for ``key``, built (outside the lock) and stored when missing or expired."""
        hit = self.entry(key)
        return hit.value if hit is not None else self.put(key, build())

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class SeenBuffer:
    """Devices heard from since ``last_seen_at`` was last written (one statement every ``FLUSH_SEEN_S``)."""

    def __init__(self, owner: Caches, name: str) -> None:
        self.name = name
        self._owner = owner
        self._lock = threading.Lock()
        self.pending: dict[int, datetime] = {}
        self.flushed_at = float("-inf")

    def note(self, device_id: int, when: datetime) -> None:
        self.pending[device_id] = when

    def due(self, every_s: float) -> bool:
        return self._owner.clock() - self.flushed_at >= every_s

    def take(self) -> dict[int, datetime]:
        """What is pending (now counted as written)."""
        with self._lock:
            self.flushed_at = self._owner.clock()
            taken, self.pending = self.pending, {}
        return taken

    def clear(self) -> None:
        with self._lock:
            self.pending = {}
            self.flushed_at = float("-inf")

    def __len__(self) -> int:
        return len(self.pending)


def _device_ttl() -> float:
    return get_settings().device_cache_s


def _schedule_ttl() -> float:
    settings = get_settings()
    return settings.device_schedule_ttl_s if settings.device_cache_s > 0 else 0.0


def _area_ttl() -> float:
    return get_settings().area_cache_s


class Caches:
    """The caches of one process (see the module docstring); one instance, :data:`CACHES`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        # device id -> its key, status, area and kind (None: no such device)
        self.device_auth: Cache[int, DeviceAuth | None] = Cache(self, "device auth", _device_ttl)
        self.seen = SeenBuffer(self, "seen devices")
        # None -> every area by code
        self.area_map: Cache[None, dict[str, Area]] = Cache(self, "area map", _area_ttl)
        # database URL -> retired area code -> the current codes that took its territory
        self.retired_areas: Cache[str, dict[str, set[str]]] = Cache(self, "retired areas", _area_ttl)
        # (area, kind, hours, window start, base URL) -> the schedule built for them, with its generation
        self.area_schedules: Cache[tuple[Any, ...], BuiltSchedule] = Cache(self, "area schedules", _schedule_ttl)
        # device id -> (its area schedule, ETag, unsigned body, signed document as JSON bytes or None); valid
        # while the area schedule is the same object
        self.device_schedules: Cache[int, tuple[AreaSchedule, str, dict[str, Any], bytes | None]] = Cache(
            self, "device schedules")
        # keys directory -> (index mtime, key list, current signing key), re-read when the index changes
        self.signing_keys: Cache[Path, KeyState] = Cache(self, "signing keys")
        self.object_store: Cache[None, ObjectStore] = Cache(self, "object store")
        self.fonts: Cache[bool, Path | None] = Cache(self, "font files")  # bold? -> Noto Sans file
        self.pdf_fonts: Cache[None, tuple[str, str]] = Cache(self, "PDF fonts")  # registered font names
        self.feedback_config: Cache[str | None, FeedbackConfig] = Cache(self, "feedback config")  # by file

    def all(self) -> list[Cache[Any, Any] | SeenBuffer]:
        return [v for v in vars(self).values() if isinstance(v, Cache | SeenBuffer)]

    def now(self) -> float:
        return self.clock()

    def forget_schedules(self) -> None:
        """Forget every built schedule (after a publish, withdrawal, kill or key rotation)."""
        self.area_schedules.clear()
        self.device_schedules.clear()

    def reset(self) -> None:
        """Drop everything: the settings are read again, then every resource and value cached from them."""
        get_settings.cache_clear()
        for cache in self.all():
            cache.clear()


CACHES = Caches()
