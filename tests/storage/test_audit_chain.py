"""The hash-chained audit log on SQLite and PostgreSQL: concurrency, append-only triggers, tampering."""

import threading

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from domain.errors import InvalidInput
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.repositories import audit

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    upgrade(database_url)
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def _write(engine: Engine, n: int, actor: str = "lan") -> None:
    for i in range(n):
        with session_scope(engine) as s:
            audit.record(s, actor=actor, action="package.approved", entity="package", entity_id=i, n=i,
                         note="Đa Lộc", values=(1, 2.5))


def _verify(engine: Engine) -> tuple[int, list[str]]:
    with session_scope(engine) as s:
        count, findings = audit.verify(s)
    return count, [str(f) for f in findings]


def _without_triggers(engine: Engine, sql: str, **params: object) -> None:
    """Tamper as someone with DDL rights would: drop the append-only triggers, then write."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text(sql), params)


def test_entries_chain_and_verify(engine: Engine) -> None:
    _write(engine, 5)
    assert _verify(engine) == (5, [])
    with session_scope(engine) as s:
        rows = audit.entries(s, entity="package", entity_id=3)
        assert rows[0].detail == {"n": 3, "note": "Đa Lộc", "values": [1, 2.5]}
        assert audit.head(s)[0] == 5


def test_rolled_back_entries_leave_no_gap(engine: Engine) -> None:
    _write(engine, 2)
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        audit.record(s, actor="lan", action="x", entity="package", entity_id=1)
        raise RuntimeError("the business step failed")
    _write(engine, 1)
    assert _verify(engine) == (3, [])


def test_concurrent_writers_never_fork_the_chain(engine: Engine) -> None:
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            _write(engine, 15, actor=name)
        except BaseException as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _verify(engine) == (90, [])
    with engine.connect() as conn:
        prevs = conn.execute(text("SELECT prev_hash FROM audit_log")).scalars().all()
    assert len(set(prevs)) == 90  # no two entries name the same predecessor


def test_record_refuses_values_json_cannot_carry(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="not plain JSON"), session_scope(engine) as s:
        audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=1,
                     loudness=float("-inf"))


def test_updates_and_deletes_are_refused_by_the_database(engine: Engine) -> None:
    _write(engine, 2)
    for sql in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    assert _verify(engine) == (2, [])


def test_verify_names_a_modified_row(engine: Engine) -> None:
    _write(engine, 4)
    with engine.connect() as conn:
        row_id = conn.execute(text("SELECT id FROM audit_log WHERE seq = 2")).scalar_one()
    _without_triggers(engine, "UPDATE audit_log SET actor = 'mallory' WHERE id = :id", id=row_id)
    count, findings = _verify(engine)
    assert count == 4
    assert findings == [f"entry #2 (row id {row_id}): content was modified (its hash no longer matches)"]


def test_verify_names_deleted_rows(engine: Engine) -> None:
    _write(engine, 5)
    _without_triggers(engine, "DELETE FROM audit_log WHERE seq IN (3, 5)")
    count, findings = _verify(engine)
    assert count == 3
    assert len(findings) == 2
    assert findings[0].startswith("entry #4") and "#3 before it are missing" in findings[0]
    assert "entry #5" in findings[1] and "last entry is missing" in findings[1]
