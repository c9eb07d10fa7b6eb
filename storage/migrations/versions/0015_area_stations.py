"""area stations: the loudspeaker station named in an area's bulletins

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "area_stations",
        sa.Column("area_code", sa.String(16).with_variant(sa.String(5), "sqlite"), sa.ForeignKey("areas.code"), primary_key=True),
        sa.Column("station_name", sa.String(120), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("area_stations")
