"""The process caches (services.caches): one owner, one reset, expiry from the settings on an injected clock."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services import runtime
from services.caches import CACHES, Caches
from settings import get_settings


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clocked(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Caches, FakeClock]]:
    monkeypatch.setenv("BANTIN_DEVICE_CACHE_S", "5")
    monkeypatch.setenv("BANTIN_DEVICE_SCHEDULE_TTL_S", "30")
    monkeypatch.setenv("BANTIN_AREA_CACHE_S", "60")
    get_settings.cache_clear()
    clock = FakeClock()
    yield Caches(clock), clock
    get_settings.cache_clear()


def test_device_entries_expire_after_device_cache_s(clocked: tuple[Caches, FakeClock]) -> None:
    caches, clock = clocked
    caches.device_auth.put(7, None)  # "no such device" is cached too
    clock.t += 5.0
    hit = caches.device_auth.entry(7)
    assert hit is not None and hit.value is None
    clock.t += 0.01
    assert caches.device_auth.entry(7) is None


def test_area_caches_expire_after_area_cache_s_and_are_rebuilt(clocked: tuple[Caches, FakeClock]) -> None:
    caches, clock = clocked
    builds: list[int] = []

    def build() -> dict[str, set[str]]:
        builds.append(1)
        return {"847": {"86"}}

    assert caches.retired_areas.get_or_build("db", build) == {"847": {"86"}}
    clock.t += 59.0
    caches.retired_areas.get_or_build("db", build)
    assert len(builds) == 1
    clock.t += 2.0
    caches.retired_areas.get_or_build("db", build)
    assert len(builds) == 2


def test_schedules_follow_their_own_ttl_and_none_when_device_caching_is_off(
        clocked: tuple[Caches, FakeClock], monkeypatch: pytest.MonkeyPatch) -> None:
    caches, clock = clocked
    caches.area_schedules.put(("01",), "built")  # type: ignore[arg-type]  # any value will do here
    clock.t += 29.0
    assert caches.area_schedules.get(("01",)) == "built"
    clock.t += 2.0
    assert caches.area_schedules.get(("01",)) is None
    monkeypatch.setenv("BANTIN_DEVICE_CACHE_S", "0")  # read at each lookup: no restart needed
    get_settings.cache_clear()
    caches.area_schedules.put(("01",), "built")  # type: ignore[arg-type]
    clock.t += 0.5
    assert caches.area_schedules.get(("01",)) is None


def test_what_never_expires_stays_until_a_reset(clocked: tuple[Caches, FakeClock]) -> None:
    caches, clock = clocked
    caches.fonts.put(True, Path("/fonts/NotoSans-Bold.ttf"))
    clock.t += 10 * 365 * 86400.0
    assert caches.fonts.get(True) == Path("/fonts/NotoSans-Bold.ttf")
    caches.reset()
    assert caches.fonts.get(True) is None


def test_the_seen_buffer_is_due_at_once_then_every_interval(clocked: tuple[Caches, FakeClock]) -> None:
    caches, clock = clocked
    when = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    caches.seen.note(3, when)
    assert caches.seen.due(10.0)
    assert caches.seen.take() == {3: when}
    caches.seen.note(4, when)
    clock.t += 9.0
    assert not caches.seen.due(10.0)
    clock.t += 1.0
    assert caches.seen.due(10.0)


def test_one_reset_drops_every_cache_the_settings_and_the_object_store(
        bantin_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Written out by hand: a cache added to Caches without being listed here fails this test.
    assert sorted(c.name for c in CACHES.all()) == sorted([
        "device auth", "seen devices", "area map", "retired areas", "area schedules", "device schedules",
        "signing keys", "object store", "font files", "PDF fonts", "feedback config"])
    store = runtime.object_store()
    assert runtime.object_store() is store
    when = datetime(2026, 12, 7, tzinfo=UTC)
    for cache in CACHES.all():
        if cache.name == "seen devices":
            CACHES.seen.note(1, when)
        elif cache.name != "object store":
            cache.put("k", "v")  # type: ignore[union-attr, arg-type]
    assert all(len(c) == 1 for c in CACHES.all())
    monkeypatch.setenv("BANTIN_DEVICE_CACHE_S", "42")
    assert get_settings().device_cache_s == 5.0  # still the settings read before
    runtime.reset()
    assert [c.name for c in CACHES.all() if len(c)] == []
    assert get_settings().device_cache_s == 42.0
    assert runtime.object_store() is not store
