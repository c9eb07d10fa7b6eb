"""relays: upstream sources, relay slots per area, and the runs that carried them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('relay_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('codec', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relay_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_relay_sources_name'))
    )
    op.create_table('relay_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=16).with_variant(sa.String(length=5), 'sqlite'), nullable=False),
    sa.Column('starts', sa.String(length=5), nullable=False),
    sa.Column('ends', sa.String(length=5), nullable=False),
    sa.Column('weekdays', sa.String(length=7), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_relay_slots_area_code_areas')),
    sa.ForeignKeyConstraint(['source_id'], ['relay_sources.id'], name=op.f('fk_relay_slots_source_id_relay_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relay_slots'))
    )
    with op.batch_alter_table('relay_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relay_slots_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_relay_slots_source_id'), ['source_id'], unique=False)

    op.create_table('relay_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.String(length=10), nullable=False),
    sa.Column('area_code', sa.String(length=16).with_variant(sa.String(length=5), 'sqlite'), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['slot_id'], ['relay_slots.id'], name=op.f('fk_relay_runs_slot_id_relay_slots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relay_runs')),
    sa.UniqueConstraint('slot_id', 'local_date', name=op.f('uq_relay_runs_slot_id_local_date'))
    )
    with op.batch_alter_table('relay_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relay_runs_slot_id'), ['slot_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('relay_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relay_runs_slot_id'))

    op.drop_table('relay_runs')
    with op.batch_alter_table('relay_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relay_slots_source_id'))
        batch_op.drop_index(batch_op.f('ix_relay_slots_area_code'))

    op.drop_table('relay_slots')
    op.drop_table('relay_sources')
