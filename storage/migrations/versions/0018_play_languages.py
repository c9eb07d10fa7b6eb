"""play rollup per language: which language's variant each device played of each bulletin

The play rollups are derived data: they are emptied and their watermark reset, so the reports flow's next run
folds every play log again, into the new table too.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "play_languages",
        sa.Column("manifest_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(16).with_variant(sa.String(5), "sqlite"), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_play_languages_device_id_devices")),
        sa.PrimaryKeyConstraint("manifest_hash", "language", "device_id", name=op.f("pk_play_languages")),
    )
    op.execute("DELETE FROM play_daily")
    op.execute("DELETE FROM play_firsts")
    op.execute("DELETE FROM rollup_state WHERE name = 'plays'")


def downgrade() -> None:
    op.drop_table("play_languages")
