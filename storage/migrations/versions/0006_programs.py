"""programs, program editions, officer orders, area quiet hours and volume

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('area_profiles',
    sa.Column('area_code', sa.String(length=5), nullable=False),
    sa.Column('quiet_hours', sa.JSON(), nullable=False),
    sa.Column('volume_profile', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_area_profiles_area_code_areas')),
    sa.PrimaryKeyConstraint('area_code', name=op.f('pk_area_profiles'))
    )
    op.create_table('programs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('at', sa.String(length=5), nullable=False),
    sa.Column('weekdays', sa.String(length=7), nullable=False),
    sa.Column('max_s', sa.Float(), nullable=False),
    sa.Column('gap_s', sa.Float(), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_programs_area_code_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programs')),
    sa.UniqueConstraint('area_code', 'name', name=op.f('uq_programs_area_code_name'))
    )
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programs_area_code'), ['area_code'], unique=False)

    op.create_table('program_editions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('slot_date', sa.String(length=10), nullable=False),
    sa.Column('area_code', sa.String(length=5), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('inputs_hash', sa.String(length=64), nullable=False),
    sa.Column('manifest_hash', sa.String(length=64), nullable=True),
    sa.Column('manifest_key', sa.String(length=200), nullable=True),
    sa.Column('audio_key', sa.String(length=200), nullable=True),
    sa.Column('audio_sha256', sa.String(length=64), nullable=True),
    sa.Column('audio_size', sa.Integer(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('left_out', sa.JSON(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_program_editions_area_code_areas')),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_program_editions_program_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_editions')),
    sa.UniqueConstraint('program_id', 'slot_date', 'area_code', 'language', name=op.f('uq_program_editions_program_id_slot_date_area_code_language'))
    )
    with op.batch_alter_table('program_editions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_program_editions_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_program_editions_program_id'), ['program_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_program_editions_starts_at'), ['starts_at'], unique=False)

    op.create_table('program_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('slot_date', sa.String(length=10), nullable=False),
    sa.Column('area_code', sa.String(length=5), nullable=False),
    sa.Column('package_order', sa.JSON(), nullable=False),
    sa.Column('skipped', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_program_orders_area_code_areas')),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_program_orders_program_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_orders')),
    sa.UniqueConstraint('program_id', 'slot_date', 'area_code', name=op.f('uq_program_orders_program_id_slot_date_area_code'))
    )
    with op.batch_alter_table('program_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_program_orders_program_id'), ['program_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('program_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_program_orders_program_id'))

    op.drop_table('program_orders')
    with op.batch_alter_table('program_editions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_program_editions_starts_at'))
        batch_op.drop_index(batch_op.f('ix_program_editions_program_id'))
        batch_op.drop_index(batch_op.f('ix_program_editions_area_code'))

    op.drop_table('program_editions')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programs_area_code'))

    op.drop_table('programs')
    op.drop_table('area_profiles')
