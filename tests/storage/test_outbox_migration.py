"""Migration 0017 (one outbox) on SQLite and PostgreSQL: rows written the old way, into ``deliveries`` and
``retractions``, are in ``outbox`` afterwards with their state, attempts, keys and receipts; new rows continue
the ids; a downgrade puts every row back into the two tables."""

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from domain.deliveries import DeliveryStatus
from domain.drafts import DraftContent
from domain.priority import Priority
from storage.db import make_engine, session_scope
from storage.migrate import alembic_config, upgrade
from storage.repositories import areas, drafts, outbox, packages

pytestmark = pytest.mark.integration

OUTBOX = "0017"
BEFORE = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(OUTBOX).down_revision
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
COLUMNS = "id, kind, action, package_id, destination_id, status, attempts, idempotency_key, receipt_id, last_error"


def _package(s, title: str) -> int:  # type: ignore[no-untyped-def]
    content = DraftContent(title=title, body="Nội dung thông báo đủ dài để kiểm tra việc chuyển dữ liệu.",
                           area_codes=("29377",), languages=("vi",), priority=Priority.THUONG)
    rev = drafts.create_draft(s, content=content, author="minh")
    return packages.create_package(s, draft_id=rev.draft_id,
                                   revision_id=drafts.latest_revision_record(s, rev.draft_id).id, actor="system").id


def test_rows_of_both_queues_move_into_the_outbox_and_back(database_url: str) -> None:
    upgrade(database_url, BEFORE)
    eng = make_engine(database_url)
    with session_scope(eng) as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        p1, p2 = _package(s, "Thông báo một"), _package(s, "Thông báo hai")
    with eng.begin() as conn:  # the old way: two tables, written as the code before 0017 wrote them
        conn.execute(text("INSERT INTO destinations (id, name, kind, url, enabled, created_at) VALUES "
                          "(1, 'htttn-tinh', 'htttn', 'https://htttn.example/in', true, :t), "
                          "(2, 'cong-tinh', 'http', 'https://cong.example/in', true, :t)"), {"t": T0})
        conn.execute(text(
            "INSERT INTO deliveries (id, package_id, destination_id, status, attempts, idempotency_key, receipt_id, "
            "last_error, created_at, updated_at) VALUES "
            "(1, :p1, 1, 'delivered', 2, 'aaaa-1', 'rcpt-9', 'HTTP 503: busy', :t, :t), "
            "(2, :p1, 2, 'dead', 5, 'aaaa-2', '', 'HTTP 400: bad', :t, :t), "
            "(3, :p2, 1, 'pending', 0, 'bbbb-1', '', '', :t, :t)"), {"p1": p1, "p2": p2, "t": T0})
        conn.execute(text(
            "INSERT INTO retractions (id, package_id, destination_id, action, status, attempts, idempotency_key, "
            "receipt_id, last_error, created_at, updated_at) VALUES "
            "(1, :p1, 1, 'kill', 'failed', 1, 'aaaa-1-kill', '', 'ConnectError: refused', :t, :t)"),
            {"p1": p1, "t": T0})

    upgrade(database_url, OUTBOX)
    tables = set(inspect(eng).get_table_names())
    assert "outbox" in tables and not {"deliveries", "retractions"} & tables
    with eng.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(f"SELECT {COLUMNS} FROM outbox ORDER BY id"))]
        assert [r[0] for r in conn.execute(text("SELECT area_code FROM destinations"))] == [None, None]
    assert rows == [
        (1, "delivery", "publish", p1, 1, "delivered", 2, "aaaa-1", "rcpt-9", "HTTP 503: busy"),
        (2, "delivery", "publish", p1, 2, "dead", 5, "aaaa-2", "", "HTTP 400: bad"),
        (3, "delivery", "publish", p2, 1, "pending", 0, "bbbb-1", "", ""),
        (4, "retraction", "kill", p1, 1, "failed", 1, "aaaa-1-kill", "", "ConnectError: refused"),
    ]
    with session_scope(eng) as s:  # the migrated rows work through today's repository
        moved = outbox.get(s, 2)
        outbox.reopen(s, moved, actor="admin")
        assert (moved.status, moved.attempts) == (DeliveryStatus.PENDING, 0)
        fresh = outbox.ensure(s, package_id=p2, destination_id=2, manifest_hash="c" * 64)
        assert fresh.id == 5  # ids continue after the moved rows (PostgreSQL's sequence too)
        assert [r.id for r, _ in outbox.of_package(s, p1)] == [1, 2, 4]

    command.downgrade(alembic_config(database_url), BEFORE)
    with eng.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(
            "SELECT id, package_id, destination_id, status, attempts, idempotency_key FROM deliveries ORDER BY id"))] \
            == [(1, p1, 1, "delivered", 2, "aaaa-1"), (2, p1, 2, "pending", 0, "aaaa-2"),
                (3, p2, 1, "pending", 0, "bbbb-1"), (5, p2, 2, "pending", 0, f"{'c' * 32}-2")]
        assert [tuple(r) for r in conn.execute(text(
            "SELECT id, package_id, action, status, last_error FROM retractions"))] \
            == [(4, p1, "kill", "failed", "ConnectError: refused")]
    assert "outbox" not in set(inspect(eng).get_table_names())
    upgrade(database_url)  # and up again to the head
    eng.dispose()
