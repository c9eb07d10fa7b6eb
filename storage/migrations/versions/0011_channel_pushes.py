"""channel pushes: the state of each MQTT emergency push (play/stop) per package

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channel_pushes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name=op.f('ck_channel_pushes_status')),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'], name=op.f('fk_channel_pushes_package_id_packages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_pushes')),
    sa.UniqueConstraint('package_id', 'channel', 'action', name=op.f('uq_channel_pushes_package_id_channel_action'))
    )
    with op.batch_alter_table('channel_pushes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_pushes_package_id'), ['package_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_pushes_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('channel_pushes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_pushes_status'))
        batch_op.drop_index(batch_op.f('ix_channel_pushes_package_id'))
    op.drop_table('channel_pushes')
