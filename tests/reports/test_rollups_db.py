"""Rollups and report figures on SQLite and PostgreSQL: play logs written through the repository, folded in
chunks with a compare-and-set watermark, and a report computed from them."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.devices import PlayEntry, PlayTrigger
from domain.reports import Period, PeriodKind
from services import reports, rollups
from services.runtime import session
from storage.models_devices import DeviceRecord
from storage.models_reports import PlayDailyRecord, PlayFirstRecord
from storage.repositories import areas
from storage.repositories import devices as device_repo
from storage.repositories import reports as repo
from tests.devices.factory import published_package

pytestmark = pytest.mark.integration


@pytest.fixture
def db(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from services import runtime
    from storage.db import get_engine
    from storage.migrate import upgrade

    monkeypatch.setenv("BANTIN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BANTIN_DATABASE_URL", database_url)
    runtime.reset()
    get_engine.cache_clear()
    upgrade(database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
    yield database_url
    get_engine.cache_clear()
    runtime.reset()


def _device(area: str) -> int:
    with session() as s:
        rec = DeviceRecord(hardware_id=f"hw-{uuid.uuid4().hex[:10]}", public_key="A" * 44, name="Cụm loa",
                           area_code=area, kind="speaker", status="authorised", last_inventory={})
        s.add(rec)
        s.flush()
        return rec.id


def _play(device: int, manifest: str, start: datetime, seconds: int, completed: bool = True) -> None:
    entry = PlayEntry(str(uuid.uuid4()), f"{manifest[:16]}.vi", manifest, start, start + timedelta(seconds=seconds),
                      completed, PlayTrigger.SCHEDULE)
    with session() as s:
        assert device_repo.add_play_logs(s, device, [entry], start) == 1


def test_fold_in_chunks_and_compute(db: str) -> None:
    a, b = _device("02200"), _device("02233")
    pid, manifest = published_package(title="Thông báo", areas=("08",), languages="vi")
    with session() as s:
        t0 = repo.published_times(s, [pid])[pid]
    # 16:30 UTC is 23:30 in Vietnam: two plays on either side of Vietnam's midnight fall on two days.
    day0 = t0.replace(hour=16, minute=30, second=0, microsecond=0) + timedelta(days=1)
    _play(a, manifest, day0, 60)
    _play(a, manifest, day0 + timedelta(hours=1), 30, completed=False)
    _play(b, manifest, day0 + timedelta(minutes=10), 90)
    assert rollups.fold_all(session, chunk=2) == 3
    assert rollups.fold_all(session, chunk=2) == 0  # nothing twice
    with session() as s:
        daily = {(r.day, r.device_id): (r.plays, r.completed, r.interrupted, r.seconds)
                 for r in s.scalars(select(PlayDailyRecord))}
        firsts = {r.device_id: (r.plays, r.completed, r.interrupted, r.first_at, r.last_at)
                  for r in s.scalars(select(PlayFirstRecord))}
    vn_day = (day0 + timedelta(hours=7)).date()
    assert daily == {(vn_day.isoformat(), a): (1, 1, 0, 60.0),
                     ((vn_day + timedelta(days=1)).isoformat(), a): (1, 0, 1, 30.0),
                     (vn_day.isoformat(), b): (1, 1, 0, 90.0)}  # 23:40 in Vietnam
    assert firsts[a] == (2, 1, 1, day0, day0 + timedelta(hours=1))
    assert firsts[b][:3] == (1, 1, 0)

    start = (t0 + timedelta(hours=7)).date()
    period = Period(PeriodKind.RANGE, "x", start, start + timedelta(days=3))
    with session() as s:
        data = reports.compute(s, period, "08", now=day0 + timedelta(days=5))
    assert (data.headline["plays"], data.headline["minutes_aired"], data.headline["bulletins_aired"]) == (3, 3.0, 1)
    assert data.headline["device_coverage_pct"] == 100.0


def test_a_concurrent_fold_is_refused_and_counts_nothing(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _device("02200")
    _play(a, "a" * 64, datetime(2026, 7, 1, 3, tzinfo=UTC), 10)
    with session() as s:
        repo.rollup_watermark(s)
    fetch = repo.play_rows_after

    def fetch_then_lose_the_race(session_: object, after: int, limit: int) -> list[object]:
        rows = fetch(session_, after, limit)  # type: ignore[arg-type]
        with session() as other:  # another run folds the same rows and commits first
            assert repo.advance_watermark(other, after, 999)
        return rows

    monkeypatch.setattr(repo, "play_rows_after", fetch_then_lose_the_race)
    with pytest.raises(rollups.RollupConflict):
        with session() as s:
            rollups.fold_plays(s)
    with session() as s:
        assert s.scalars(select(PlayDailyRecord)).all() == []  # the loser's sums were rolled back
        assert repo.rollup_watermark(s) == 999


def test_dashboard_queries_on_both_databases(db: str) -> None:
    from domain.packages import PackageStatus
    from services import dashboard

    now = datetime.now(UTC)
    a, b = _device("02200"), _device("02233")
    with session() as s:
        device_repo.touch_many(s, {a: now - timedelta(seconds=30), b: now - timedelta(minutes=20)})
    published_package(title="Chờ duyệt", areas=("02200",), languages="vi,km", status=PackageStatus.IN_REVIEW)
    pid, manifest = published_package(title="Cảnh báo", areas=("08",), languages="vi", priority="khan_cap",
                                      expires_at=now + timedelta(hours=1))
    _play(a, manifest, now, 30)
    with session() as s:
        board = dashboard.build(s, "08", now=now, thresholds=rollups.Thresholds(300, 3600))
    assert board.counts == {"online": 1, "stale": 1, "offline": 0}
    assert board.queues["to_approve"] == 1
    assert [(e.package_id, e.devices, e.played, e.acked) for e in board.emergencies] == [(pid, 2, 1, 0)]
    assert [d.id for d in board.devices] == [b]  # only the late one is listed at province level
