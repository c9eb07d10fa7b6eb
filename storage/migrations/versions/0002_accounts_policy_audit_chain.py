"""accounts, approval policy, hash-chained audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00

- users: password_hash; ``roles`` and ``area_code`` move into ``memberships`` (one row per old role,
  scoped to the old area; old approvers approve at their area's level, or province level when they had
  no area; old translators translate every language, ``*``).
- approvals: the capacity (level, area) the approver acted in; variants: who translated them.
- emergency_templates and template_drafts: the emergency fast path.
- audit_log: seq, prev_hash, hash (existing rows are chained in id order), the audit_head lock row, and
  triggers that refuse UPDATE and DELETE.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from domain.audit import GENESIS_HASH, AuditEntry, entry_hash
from storage.models import UTCDateTime

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION bantin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END $$
"""


def upgrade() -> None:
    bind = op.get_bind()
    _move_roles_to_memberships(bind)
    with op.batch_alter_table('approvals') as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('area_code', sa.String(length=5), nullable=True))
    with op.batch_alter_table('variants') as batch_op:
        batch_op.add_column(sa.Column('translated_by', sa.String(length=64), nullable=True))
    _create_templates()
    _chain_audit_log(bind)


def _move_roles_to_memberships(bind: sa.engine.Connection) -> None:
    old_users = sa.table('users', sa.column('id', sa.Integer), sa.column('roles', sa.JSON),
                         sa.column('area_code', sa.String))
    areas = sa.table('areas', sa.column('code', sa.String), sa.column('level', sa.String))
    # Read before the users table is rebuilt (SQLite batch mode copies it without the old columns).
    rows = bind.execute(sa.select(old_users.c.id, old_users.c.roles, old_users.c.area_code)).all()
    levels: dict[str, str] = {code: level for code, level in bind.execute(sa.select(areas.c.code, areas.c.level))}

    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=255), nullable=True))
        batch_op.drop_constraint('fk_users_area_code_areas', type_='foreignkey')
        batch_op.drop_column('area_code')
        batch_op.drop_column('roles')

    memberships = op.create_table(
        'memberships',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('area_code', sa.String(length=5), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.Column('level', sa.String(length=16), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('editor', 'translator', 'approver', 'admin')", name=op.f('ck_memberships_role')),
        sa.CheckConstraint("(role = 'translator') = (language IS NOT NULL)",
                           name=op.f('ck_memberships_language_for_translators')),
        sa.CheckConstraint("(role = 'approver') = (level IS NOT NULL)",
                           name=op.f('ck_memberships_level_for_approvers')),
        sa.CheckConstraint("level IS NULL OR level IN ('commune', 'district', 'province')",
                           name=op.f('ck_memberships_level')),
        sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_memberships_area_code_areas')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    )
    op.create_index('ix_memberships_user_id', 'memberships', ['user_id'])
    op.create_index('ix_memberships_area_code', 'memberships', ['area_code'])
    op.create_index('uq_memberships_grant', 'memberships',
                    ['user_id', 'role', sa.text("coalesce(area_code, '')"), sa.text("coalesce(language, '')"),
                     sa.text("coalesce(level, '')")], unique=True)

    from datetime import UTC, datetime

    now = datetime.now(UTC)
    new_rows = []
    for user_id, roles, area_code in rows:
        for role in sorted(set(roles or [])):
            new_rows.append({
                'user_id': user_id, 'role': role, 'area_code': area_code, 'created_at': now,
                'language': '*' if role == 'translator' else None,
                'level': (levels.get(area_code, 'province') if area_code else 'province') if role == 'approver'
                else None,
            })
    if new_rows:
        op.bulk_insert(memberships, new_rows)


def _create_templates() -> None:
    op.create_table(
        'emergency_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('languages', sa.JSON(), nullable=False),
        sa.Column('area_code', sa.String(length=5), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('approved_by', sa.String(length=64), nullable=True),
        sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['area_code'], ['areas.code'], name=op.f('fk_emergency_templates_area_code_areas')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_templates')),
        sa.UniqueConstraint('name', name=op.f('uq_emergency_templates_name')),
    )
    op.create_table(
        'template_drafts',
        sa.Column('draft_id', sa.Integer(), nullable=False),
        sa.Column('template_id', sa.Integer(), nullable=False),
        sa.Column('revision_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['draft_id'], ['drafts.id'], name=op.f('fk_template_drafts_draft_id_drafts')),
        sa.ForeignKeyConstraint(['revision_id'], ['draft_revisions.id'],
                                name=op.f('fk_template_drafts_revision_id_draft_revisions')),
        sa.ForeignKeyConstraint(['template_id'], ['emergency_templates.id'],
                                name=op.f('fk_template_drafts_template_id_emergency_templates')),
        sa.PrimaryKeyConstraint('draft_id', name=op.f('pk_template_drafts')),
    )
    op.create_index('ix_template_drafts_template_id', 'template_drafts', ['template_id'])


def _chain_audit_log(bind: sa.engine.Connection) -> None:
    with op.batch_alter_table('audit_log') as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))

    log = sa.table('audit_log', sa.column('id', sa.Integer), sa.column('at', UTCDateTime()),
                   sa.column('actor', sa.String), sa.column('action', sa.String), sa.column('entity', sa.String),
                   sa.column('entity_id', sa.String), sa.column('detail', sa.JSON), sa.column('seq', sa.Integer),
                   sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
    prev, seq = GENESIS_HASH, 0
    for row in bind.execute(sa.select(log).order_by(log.c.id)).all():
        seq += 1
        h = entry_hash(AuditEntry(seq=seq, at=row.at, actor=row.actor, action=row.action, entity=row.entity,
                                  entity_id=row.entity_id, detail=row.detail, prev_hash=prev))
        bind.execute(sa.update(log).where(log.c.id == row.id).values(seq=seq, prev_hash=prev, hash=h))
        prev = h

    with op.batch_alter_table('audit_log') as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(op.f('uq_audit_log_seq'), ['seq'])

    head = op.create_table(
        'audit_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head')),
    )
    op.bulk_insert(head, [{'id': 1, 'seq': seq, 'hash': prev}])

    if bind.dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION bantin_audit_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION bantin_audit_append_only()")
    else:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only ({event} refused)'); END")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS bantin_audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_log') as batch_op:
        batch_op.drop_constraint(op.f('uq_audit_log_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    op.drop_index('ix_template_drafts_template_id', table_name='template_drafts')
    op.drop_table('template_drafts')
    op.drop_table('emergency_templates')
    with op.batch_alter_table('variants') as batch_op:
        batch_op.drop_column('translated_by')
    with op.batch_alter_table('approvals') as batch_op:
        batch_op.drop_column('area_code')
        batch_op.drop_column('level')

    # Memberships fold back into users.roles; the first scoped membership's area becomes users.area_code.
    ms = sa.table('memberships', sa.column('user_id', sa.Integer), sa.column('role', sa.String),
                  sa.column('area_code', sa.String), sa.column('id', sa.Integer))
    folded: dict[int, tuple[set[str], str | None]] = {}
    for user_id, role, area_code in bind.execute(sa.select(ms.c.user_id, ms.c.role, ms.c.area_code).order_by(ms.c.id)):
        roles, area = folded.setdefault(user_id, (set(), None))
        roles.add(role)
        folded[user_id] = (roles, area or area_code)
    op.drop_index('uq_memberships_grant', table_name='memberships')
    op.drop_index('ix_memberships_area_code', table_name='memberships')
    op.drop_index('ix_memberships_user_id', table_name='memberships')
    op.drop_table('memberships')
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('roles', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('area_code', sa.String(length=5), nullable=True))
        batch_op.drop_column('password_hash')
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('roles', sa.JSON),
                     sa.column('area_code', sa.String))
    for (user_id,) in bind.execute(sa.select(users.c.id)).all():
        roles, area = folded.get(user_id, (set(), None))
        bind.execute(sa.update(users).where(users.c.id == user_id).values(roles=sorted(roles), area_code=area))
    with op.batch_alter_table('users') as batch_op:
        batch_op.alter_column('roles', existing_type=sa.JSON(), nullable=False)
        batch_op.create_foreign_key('fk_users_area_code_areas', 'areas', ['area_code'], ['code'])
