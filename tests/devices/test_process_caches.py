"""Caches against a real installation: a change made elsewhere (another node, the database directly) shows
after its time to live on the injected clock, or at once after one reset."""

from dataclasses import replace
from pathlib import Path

import pytest

from services import devices, runtime
from services.caches import CACHES
from services.runtime import session
from storage.repositories import areas


class FakeClock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def _rename(code: str, name: str) -> None:
    with session() as s:
        area = areas.all_areas(s)[code]
        areas.upsert_areas(s, {code: replace(area, name=name)})


def test_the_area_map_shows_a_rename_after_area_cache_s_or_a_reset(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(CACHES, "clock", clock)
    monkeypatch.setenv("BANTIN_AREA_CACHE_S", "60")
    runtime.reset()
    with session() as s:
        first = devices.area_map(s)
    code = "08"
    before = first[code].name
    _rename(code, "Tỉnh Tuyên Quang (mới)")
    clock.t += 60.0
    with session() as s:
        assert devices.area_map(s)[code].name == before  # within its minute: the copy in memory
    clock.t += 0.5
    with session() as s:
        assert devices.area_map(s)[code].name == "Tỉnh Tuyên Quang (mới)"
    _rename(code, "Tuyên Quang")
    runtime.reset()
    with session() as s:
        assert devices.area_map(s)[code].name == "Tuyên Quang"
