"""citizens' feedback: items and handlers' notes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_code', sa.String(length=16), nullable=False),
    sa.Column('area_code', sa.String(16).with_variant(sa.String(5), "sqlite"), nullable=False),
    sa.Column('unit_code', sa.String(16).with_variant(sa.String(5), "sqlite"), nullable=False),
    sa.Column('hamlet', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_date', sa.String(length=10), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('reject_reason', sa.String(length=32), nullable=False),
    sa.Column('reject_note', sa.Text(), nullable=False),
    sa.Column('duplicate_of', sa.Integer(), nullable=True),
    sa.Column('cited_package_id', sa.Integer(), nullable=True),
    sa.Column('bulletin_draft_id', sa.Integer(), nullable=True),
    sa.Column('entered_by', sa.String(length=64), nullable=True),
    sa.Column('contact_name', sa.String(length=100), nullable=True),
    sa.Column('contact_phone', sa.String(length=16), nullable=True),
    sa.Column('contact_consent', sa.Boolean(), nullable=False),
    sa.Column('contact_erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('photo_key', sa.String(length=200), nullable=True),
    sa.Column('photo_type', sa.String(length=32), nullable=True),
    sa.Column('photo_location_kept', sa.Boolean(), nullable=False),
    sa.Column('voice_key', sa.String(length=200), nullable=True),
    sa.Column('voice_type', sa.String(length=32), nullable=True),
    sa.Column('voice_transcript', sa.Text(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('long', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_feedback_area_code_areas')),
    sa.ForeignKeyConstraint(['unit_code'], ['areas.code'], name=op.f('fk_feedback_unit_code_areas')),
    sa.ForeignKeyConstraint(['duplicate_of'], ['feedback.id'], name=op.f('fk_feedback_duplicate_of_feedback')),
    sa.ForeignKeyConstraint(['bulletin_draft_id'], ['drafts.id'], name=op.f('fk_feedback_bulletin_draft_id_drafts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback')),
    sa.UniqueConstraint('tracking_code', name=op.f('uq_feedback_tracking_code'))
    )
    op.create_index('ix_feedback_unit_state', 'feedback', ['unit_code', 'state'], unique=False)
    op.create_index('ix_feedback_area_received', 'feedback', ['area_code', 'received_at'], unique=False)
    op.create_index(op.f('ix_feedback_state'), 'feedback', ['state'], unique=False)
    op.create_table('feedback_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], name=op.f('fk_feedback_notes_feedback_id_feedback')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_notes'))
    )
    op.create_index(op.f('ix_feedback_notes_feedback_id'), 'feedback_notes', ['feedback_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_feedback_notes_feedback_id'), table_name='feedback_notes')
    op.drop_table('feedback_notes')
    op.drop_index(op.f('ix_feedback_state'), table_name='feedback')
    op.drop_index('ix_feedback_area_received', table_name='feedback')
    op.drop_index('ix_feedback_unit_state', table_name='feedback')
    op.drop_table('feedback')
