"""Two runs of a scheduled deployment at the same moment (``relay-due``, ``erase-feedback-contacts``: their
deployments have no concurrency limit, so a slow run may overlap the next one) do the work once, on
PostgreSQL with real concurrent transactions.

The overlap is forced, not hoped for: a third connection locks the table against writes, both runs read the
same rows (reads pass the lock) and queue on their first write; once both wait, the lock goes and the two
writes meet (PostgreSQL makes the second wait for the first one's transaction, then re-checks its row)."""

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = [pytest.mark.integration]


@pytest.fixture
def pg_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards."""
    from storage.migrate import upgrade
    from tests.conftest import new_postgres_database

    with new_postgres_database(postgres_admin_url) as url:
        upgrade(url)
        yield url


def _overlap(url: str, table: str, *runs: Callable[[], Any]) -> list[Any]:
    """Run ``runs`` at once, their first writes to ``table`` held until all of them wait on it; their results."""
    locker = create_engine(url)
    db = make_url(url).database
    try:
        with locker.connect() as conn, ThreadPoolExecutor(len(runs)) as pool:
            lock = conn.begin()
            conn.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))  # reads pass, writes wait
            futures = [pool.submit(run) for run in runs]
            deadline = time.monotonic() + 60
            with create_engine(url).connect() as watch:
                while watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND "
                                         "wait_event_type = 'Lock'"), {"db": db}).scalar_one() < len(runs):
                    assert time.monotonic() < deadline, "the runs never reached their writes"
                    assert not any(f.done() for f in futures), [f.result() for f in futures if f.done()]
                    time.sleep(0.05)
            lock.commit()
            return [f.result(timeout=60) for f in futures]
    finally:
        locker.dispose()


def test_two_overlapping_relay_due_runs_claim_and_start_an_airing_once(
        pg_url: str, bantin_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services import relays, runtime
    from services.runtime import session
    from storage.repositories import areas
    from storage.repositories import relays as repo
    from tasks.relays import claim_due

    monkeypatch.setenv("BANTIN_DATABASE_URL", pg_url)
    runtime.reset()
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        src = repo.add_source(s, name="VOV1", url="http://vov.example/vov1.mp3", codec="mp3", actor="admin")
        slot_id = repo.add_slot(s, actor="admin", source_id=src.id, area_code="29377", starts="06:00",
                                ends="06:30", weekdays="0123456", priority="uu_tien").id
    now = datetime(2026, 12, 6, 22, 58, tzinfo=UTC)  # 05:58 in Vietnam on 7 December: the 06:00 airing is due
    started = threading.Barrier(2)

    def relay_due_claims() -> list[tuple[int, str]]:  # what each relay-due run hands to start_airing
        started.wait(10)
        return list(claim_due.fn(now))

    try:
        claims = _overlap(pg_url, "relay_runs", relay_due_claims, relay_due_claims)
        assert sorted(claims) == [[], [(slot_id, "2026-12-07")]]  # one run starts the airing, the other nothing
        with session() as s:
            assert [(r.slot_id, r.local_date, r.status) for r in repo.list_runs(s)] == \
                [(slot_id, "2026-12-07", "claimed")]
            # Its one carrier takes it; a carrier started by mistake beside it would not carry it as well.
            assert relays.take(s, slot_id, "2026-12-07", now=now + timedelta(minutes=1)) is True
            assert relays.take(s, slot_id, "2026-12-07", now=now + timedelta(minutes=1)) is False
    finally:
        runtime.reset()


def test_two_overlapping_erase_runs_erase_each_contact_once(pg_url: str, tmp_path: Path) -> None:
    from services import feedback as fb
    from services import feedback_intake as intake
    from storage.db import make_engine, session_scope
    from storage.objects import LocalObjectStore
    from storage.repositories import audit
    from tests.feedback.conftest import make_db
    from tests.feedback.test_service import sub, wav

    engine = make_db(pg_url)
    store = LocalObjectStore(tmp_path / "objects")
    try:
        with session_scope(engine) as s:
            ids = [intake.submit(s, store, sub(contact_phone=f"091234567{n}", contact_consent=True),
                                 now=datetime(2025, 1, 2 + n, tzinfo=UTC)).feedback_id for n in range(3)]
            ids.append(intake.submit(s, store, sub(voice=wav(3), voice_filename="ghi-am.wav"),
                                     now=datetime(2025, 1, 9, tzinfo=UTC)).feedback_id)
        (voice,) = store.keys()
        now = datetime(2026, 2, 1, tzinfo=UTC)
        started = threading.Barrier(2)

        def erase_run() -> Any:  # the erase-feedback-contacts task's work, each run in its own transaction
            started.wait(10)
            own = make_engine(pg_url)
            try:
                return fb.erase_expired(lambda: session_scope(own), store, now=now, retention_days=365)
            finally:
                own.dispose()

        done = _overlap(pg_url, "feedback", erase_run, erase_run)

        assert sorted(done, key=lambda e: e.items) == [fb.Erasure(0, ()), fb.Erasure(4, (voice,))]
        assert list(store.keys()) == []
        with session_scope(engine) as s:
            for fid in ids:
                item = fb.get_for(s, "canbo_daloc", fid)
                assert (item.contact_phone, item.voice_key, item.contact_erased_at) == (None, None, now)
                erased = [e for e in audit.entries(s, entity="feedback", entity_id=fid)
                          if e.action == "feedback.contact_erased"]
                assert len(erased) == 1  # one entry per item, not one per run
    finally:
        engine.dispose()
