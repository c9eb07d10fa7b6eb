"""Audit checkpoints without a person: the sweeper signs one whenever the log grew (at most every
``BANTIN_AUDIT_CHECKPOINT_INTERVAL_S``), every HTTTN push carries the latest, and the reference receiver keeps
them in a file that ``audit verify`` checks the log against: emptying the log (and deleting the object store's
copy) is caught by the receiver's copy alone."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from domain.packages import PackageStatus
from services import audit_anchor, runtime
from services.runtime import db_engine, object_store, session
from storage.repositories import audit
from tests.devices.factory import deliver_to_receiver, published_package

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def auditor_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = home / "auditor" / "bantin.jsonl"
    monkeypatch.setenv("BANTIN_AUDIT_CHECKPOINT_FILE", str(path))
    monkeypatch.setenv("BANTIN_AUDIT_CHECKPOINT_INTERVAL_S", "300")
    runtime.reset()
    return path


def test_the_sweeper_checkpoints_when_the_log_grew(auditor_file: Path) -> None:
    from tasks.sweeping import checkpoint_audit

    with session() as s:
        head = audit.head(s)[0]
    assert head > 0 and audit_anchor.latest_checkpoint(object_store()) is None
    assert checkpoint_audit.fn(T0) == head
    assert len(auditor_file.read_text().splitlines()) == 1
    assert checkpoint_audit.fn(T0 + timedelta(hours=1)) is None  # nothing new: nothing written
    with session() as s:
        audit.record(s, actor="test", action="test.entry", entity="test", entity_id=1)
    assert checkpoint_audit.fn(T0 + timedelta(seconds=299)) is None  # too soon after the last one
    assert checkpoint_audit.fn(T0 + timedelta(seconds=300)) == head + 1
    latest = audit_anchor.latest_checkpoint(object_store())
    assert latest is not None and (latest["seq"], latest["at"]) == (head + 1, "2026-12-07T08:05:00+00:00")
    assert len(auditor_file.read_text().splitlines()) == 2


def test_pushes_carry_the_latest_checkpoint_and_the_receiver_keeps_it(auditor_file: Path, web_address: str,
                                                                      tmp_path: Path) -> None:
    from tasks.sweeping import checkpoint_audit

    package_id, manifest = published_package(status=PackageStatus.APPROVED, languages="vi")
    seq = checkpoint_audit.fn(T0)
    assert seq is not None
    deliver_to_receiver(package_id, manifest, tmp_path / "rx")
    kept = tmp_path / "rx" / "audit-checkpoints.jsonl"
    assert [line.count('"seq":') for line in kept.read_text().splitlines()] == [1]
    with session() as s:
        report = audit_anchor.verify(s, object_store(), files=[kept])
        assert report.intact and [cp.seq for where, cp in report.checkpoints if "line" in where] == [seq]
    # Someone with the database empties the log and deletes the object store's copy: the receiver's copy
    # still shows the log once reached entry #seq.
    with db_engine().begin() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text(f"UPDATE audit_head SET seq = 0, hash = '{'0' * 64}'"))
        conn.execute(text("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                          "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (DELETE refused)'); END"))
    object_store().delete(audit_anchor.LATEST_KEY)
    with session() as s:
        problems = audit_anchor.verify(s, object_store(), files=[kept]).problems
    assert any("the log is empty" in p and f"signed {seq} entries" in p for p in problems), problems
