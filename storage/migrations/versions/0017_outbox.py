"""one outbox: deliveries and retraction notices in one queue; destinations get an optional area

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:00:00

Rows of ``deliveries`` keep their ids (audit entries and resend links name them); rows of ``retractions``
follow them. ``downgrade`` moves the rows back into the two tables.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AREA_CODE = sa.String(16).with_variant(sa.String(5), "sqlite")
_COMMON = ("package_id", "destination_id", "status", "attempts", "idempotency_key", "receipt_id", "last_error",
           "created_at", "updated_at")


def _queue_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("receipt_id", sa.String(length=200), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _reset_sequence(table: str) -> None:
    """PostgreSQL: rows were inserted with explicit ids, so the id sequence continues after the largest."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                   f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        *_queue_columns()[1:],
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"],
                                name=op.f("fk_outbox_destination_id_destinations")),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"], name=op.f("fk_outbox_package_id_packages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("package_id", "destination_id", "kind", name=op.f("uq_outbox_package_id_destination_id_kind")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_package_id"), ["package_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_status"), ["status"], unique=False)
    cols = ", ".join(_COMMON)
    op.execute(f"INSERT INTO outbox (id, kind, action, {cols}) "
               f"SELECT id, 'delivery', 'publish', {cols} FROM deliveries")
    op.execute(f"INSERT INTO outbox (id, kind, action, {cols}) "
               f"SELECT r.id + COALESCE((SELECT MAX(id) FROM deliveries), 0), 'retraction', r.action, "
               f"{', '.join('r.' + c for c in _COMMON)} FROM retractions r")
    _reset_sequence("outbox")
    for old in ("retractions", "deliveries"):
        with op.batch_alter_table(old, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{old}_package_id"))
        op.drop_table(old)
    # No foreign key: a batch copy on SQLite would drop ``destinations`` while the outbox references it. The
    # service resolves the area (retired 2025 units keep their rows, so old codes stay meaningful).
    op.add_column("destinations", sa.Column("area_code", _AREA_CODE, nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE destinations DROP COLUMN area_code")  # in place (SQLite 3.35+), no table copy
    else:
        op.drop_column("destinations", "area_code")
    for old, extra in (("deliveries", []), ("retractions", [sa.Column("action", sa.String(length=16), nullable=False)])):
        op.create_table(
            old,
            *_queue_columns(), *extra,
            sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"],
                                    name=op.f(f"fk_{old}_destination_id_destinations")),
            sa.ForeignKeyConstraint(["package_id"], ["packages.id"], name=op.f(f"fk_{old}_package_id_packages")),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{old}")),
            sa.UniqueConstraint("package_id", "destination_id", name=op.f(f"uq_{old}_package_id_destination_id")),
        )
        with op.batch_alter_table(old, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{old}_package_id"), ["package_id"], unique=False)
    cols = ", ".join(_COMMON)
    op.execute(f"INSERT INTO deliveries (id, {cols}) SELECT id, {cols} FROM outbox WHERE kind = 'delivery'")
    op.execute(f"INSERT INTO retractions (id, action, {cols}) SELECT id, action, {cols} FROM outbox "
               "WHERE kind = 'retraction'")
    _reset_sequence("deliveries")
    _reset_sequence("retractions")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_package_id"))
    op.drop_table("outbox")
