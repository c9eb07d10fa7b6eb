"""Signed checkpoints anchor the audit chain (issue 17, item 4), on SQLite and PostgreSQL.

Each attack is one an intruder with full rights on the database (but not on the installation's key or the
auditor's file) can make: cut the end of the log and rewind the head, empty the log, rewrite every entry
and recompute every hash, drop the append-only triggers, forge or roll back the stored checkpoint. The
chain alone calls the first three intact; the checkpoints must not.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from domain.audit import GENESIS_HASH, AuditEntry, entry_hash
from services import audit_anchor
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.objects import LocalObjectStore
from storage.repositories import audit

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str, bantin_env: Path):  # type: ignore[no-untyped-def]
    upgrade(database_url)  # bantin_env: the signing key lives in a fresh home
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def _write(engine: Engine, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with session_scope(engine) as s:
            audit.record(s, actor="lan", action="package.approved", entity="package", entity_id=i, note="Đa Lộc")


def _checkpoint(engine: Engine, store: LocalObjectStore, file: Path | None = None) -> dict:  # type: ignore[type-arg]
    with session_scope(engine) as s:
        document, report = audit_anchor.write_checkpoint(s, store, file=file, now=T0)
    assert document is not None, report.problems
    return document


def _verify(engine: Engine, store: LocalObjectStore, *files: Path) -> list[str]:
    with session_scope(engine) as s:
        return audit_anchor.verify(s, store, files=files).problems


def _chain_only(engine: Engine) -> list[str]:
    with session_scope(engine) as s:
        return [str(f) for f in audit.verify(s)[1]]


def _tamper(engine: Engine, *statements: tuple[str, dict]) -> None:  # type: ignore[type-arg]
    """Drop the triggers, run the statements, and put the triggers back (a careful intruder)."""
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if pg:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        for sql, params in statements:
            conn.execute(text(sql), params)
        if pg:
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            for event in ("UPDATE", "DELETE"):
                conn.execute(text(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                                  f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only ({event} refused)'); END"))


def _rewind_head(seq: int, digest: str) -> tuple[str, dict]:  # type: ignore[type-arg]
    return "UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1", {"seq": seq, "hash": digest}


def _hash_of(engine: Engine, seq: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": seq}).scalar_one())


def test_intact_log_verifies_against_its_checkpoint(engine: Engine, store: LocalObjectStore, tmp_path: Path) -> None:
    _write(engine, 3)
    kept = tmp_path / "auditor" / "checkpoints.jsonl"
    document = _checkpoint(engine, store, kept)
    assert (document["seq"], document["hash"]) == (3, _hash_of(engine, 3))
    assert document["signature"]["alg"] == "ed25519"
    assert json.loads(store.get_bytes("audit/checkpoints/latest.json")) == document
    assert json.loads(store.get_bytes("audit/checkpoints/000000000003.json")) == document
    assert [json.loads(line) for line in kept.read_text().splitlines()] == [document]
    _write(engine, 2, start=3)  # entries after the checkpoint are fine
    assert _verify(engine, store, kept) == []


def test_cut_off_end_with_rewound_head_is_caught(engine: Engine, store: LocalObjectStore) -> None:
    _write(engine, 5)
    _checkpoint(engine, store)
    _tamper(engine, ("DELETE FROM audit_log WHERE seq > 3", {}), _rewind_head(3, _hash_of(engine, 3)))
    assert _chain_only(engine) == []  # the chain alone cannot tell
    assert _verify(engine, store) == [
        "entry #5: the log ends at #3, but the checkpoint of 2026-12-07 04:00 UTC signed entries up to #5 "
        "(the end was cut off)"]


def test_emptied_log_is_caught(engine: Engine, store: LocalObjectStore) -> None:
    _write(engine, 4)
    _checkpoint(engine, store)
    _tamper(engine, ("DELETE FROM audit_log", {}), _rewind_head(0, GENESIS_HASH))
    assert _chain_only(engine) == []
    assert _verify(engine, store) == [
        "entry #4: the log is empty, but the checkpoint of 2026-12-07 04:00 UTC signed 4 entries "
        "(the log was emptied)"]


def test_recomputed_chain_is_caught(engine: Engine, store: LocalObjectStore) -> None:
    _write(engine, 4)
    _checkpoint(engine, store)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, seq, at, actor, action, entity, entity_id, detail FROM audit_log "
                                 "ORDER BY seq")).all()
    statements, prev = [], GENESIS_HASH
    for r in rows:  # blame someone else for every approval and re-hash the whole chain, as an intruder would
        detail = r.detail if isinstance(r.detail, dict) else json.loads(r.detail)
        at = r.at if isinstance(r.at, datetime) else datetime.fromisoformat(r.at)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        e = AuditEntry(seq=r.seq, at=at, actor="mallory", action=r.action, entity=r.entity, entity_id=r.entity_id,
                       detail=detail, prev_hash=prev)
        prev = entry_hash(e)
        statements.append(("UPDATE audit_log SET actor = 'mallory', prev_hash = :p, hash = :h WHERE id = :id",
                           {"p": e.prev_hash, "h": prev, "id": r.id}))
    _tamper(engine, *statements, _rewind_head(4, prev))
    assert _chain_only(engine) == []
    assert _verify(engine, store) == [
        "entry #4: entry #4 differs from the checkpoint of 2026-12-07 04:00 UTC (the chain was rewritten and "
        "its hashes recomputed)"]


def test_dropped_triggers_are_reported(engine: Engine, store: LocalObjectStore) -> None:
    _write(engine, 1)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            expected = "audit_log_append_only"
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            expected = "audit_log_no_delete"
    assert _verify(engine, store) == [f"the append-only trigger {expected} was dropped or disabled"]


def test_a_broken_log_is_not_checkpointed(engine: Engine, store: LocalObjectStore) -> None:
    _write(engine, 3)
    _tamper(engine, ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", {}))
    with session_scope(engine) as s:
        document, report = audit_anchor.write_checkpoint(s, store, now=T0)
    assert document is None and not store.exists("audit/checkpoints/latest.json")
    assert len(report.problems) == 1 and "entry #2" in report.problems[0]


def test_forged_or_rolled_back_store_checkpoint(engine: Engine, store: LocalObjectStore, tmp_path: Path) -> None:
    kept = tmp_path / "checkpoints.jsonl"
    _write(engine, 2)
    old = _checkpoint(engine, store, kept)
    _write(engine, 3, start=2)
    _checkpoint(engine, store, kept)
    # the intruder cuts the log back to #2 and puts the old (genuinely signed) checkpoint back as "latest"
    store.put_at("audit/checkpoints/latest.json", json.dumps(old).encode(), media_type="application/json")
    _tamper(engine, ("DELETE FROM audit_log WHERE seq > 2", {}), _rewind_head(2, _hash_of(engine, 2)))
    assert _verify(engine, store) == []  # the store alone was rolled back with the log...
    assert _verify(engine, store, kept) == [  # ...the auditor's copy was not
        "entry #5: the log ends at #2, but the checkpoint of 2026-12-07 04:00 UTC signed entries up to #5 "
        "(the end was cut off)"]
    forged = {**old, "seq": 1}
    store.put_at("audit/checkpoints/latest.json", json.dumps(forged).encode(), media_type="application/json")
    problems = _verify(engine, store)
    assert len(problems) == 1 and problems[0].startswith("the checkpoint in the object store is not valid")
