"""operations reporting: play rollups, device health and state changes, periodic reports

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "play_daily",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(16).with_variant(sa.String(5), "sqlite"), nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("interrupted", sa.Integer(), nullable=False),
        sa.Column("emergency_plays", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_play_daily_device_id_devices")),
        sa.PrimaryKeyConstraint("day", "device_id", name=op.f("pk_play_daily")),
    )
    op.create_index("ix_play_daily_area_day", "play_daily", ["area_code", "day"])
    op.create_table(
        "play_firsts",
        sa.Column("manifest_hash", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(16).with_variant(sa.String(5), "sqlite"), nullable=False),
        sa.Column("first_at", TS, nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("interrupted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_play_firsts_device_id_devices")),
        sa.PrimaryKeyConstraint("manifest_hash", "device_id", name=op.f("pk_play_firsts")),
    )
    op.create_index("ix_play_firsts_first_at", "play_firsts", ["first_at"])
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_state")),
    )
    op.create_table(
        "device_health",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("uptime_s", sa.Integer(), nullable=True),
        sa.Column("reboots_total", sa.Integer(), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("network", sa.String(length=16), nullable=True),
        sa.Column("free_bytes", sa.BigInteger(), nullable=True),
        sa.Column("reported_at", TS, nullable=True),
        sa.Column("rejected_values", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_device_health_device_id_devices")),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_health")),
    )
    op.create_table(
        "device_state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_device_state_changes_device_id_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_state_changes")),
    )
    op.create_index("ix_device_state_changes_device_at", "device_state_changes", ["device_id", "at"])
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("area_code", sa.String(16).with_variant(sa.String(5), "sqlite"), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("cut_off", sa.String(length=10), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["area_code"], ["areas.code"], name=op.f("fk_reports_area_code_areas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index("ix_reports_period_area", "reports", ["period", "area_code"])
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_at", table_name="audit_log")
    for name, index in (("reports", "ix_reports_period_area"),
                        ("device_state_changes", "ix_device_state_changes_device_at"),
                        ("device_health", None), ("rollup_state", None),
                        ("play_firsts", "ix_play_firsts_first_at"), ("play_daily", "ix_play_daily_area_day")):
        if index:
            op.drop_index(index, table_name=name)
        op.drop_table(name)
