"""area codes up to 16 characters (hamlets: 29374-01) and areas.successors for units retired in 2025

Widens ``areas.code`` and every column that refers to it (found by inspecting the foreign keys, so tables
added by other revisions are covered too) plus ``approvals.area_code``. SQLite does not enforce a
VARCHAR length, so only PostgreSQL needs the change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _area_columns() -> list[tuple[str, str]]:
    inspector = sa.inspect(op.get_bind())
    found = [("areas", "code")]
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] == "areas":
                found += [(table, column) for column in fk["constrained_columns"]]
    if "approvals" in inspector.get_table_names():
        found.append(("approvals", "area_code"))
    return sorted(set(found))


def _retype(length: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _area_columns():
        op.alter_column(table, column, type_=sa.String(length))


def upgrade() -> None:
    _retype(16)
    with op.batch_alter_table("areas") as batch:
        batch.add_column(sa.Column("successors", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("areas") as batch:
        batch.drop_column("successors")
    _retype(5)
