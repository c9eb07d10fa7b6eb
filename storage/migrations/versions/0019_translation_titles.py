"""translation titles: a person's translation carries the title of its variant (shown on its slides)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("translations") as batch:
        batch.add_column(sa.Column("title", sa.String(200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("translations") as batch:
        batch.drop_column("title")
