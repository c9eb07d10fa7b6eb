"""devices, play logs, emergency acknowledgements, retraction notices

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hardware_id", sa.String(length=128), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("area_code", sa.String(length=5), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("authorised_by", sa.String(length=64), nullable=True),
        sa.Column("authorised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_inventory", sa.JSON(), nullable=False),
        sa.Column("inventory_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent_version", sa.String(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('speaker', 'board')", name=op.f("ck_devices_kind")),
        sa.CheckConstraint("status IN ('pending', 'authorised', 'revoked')", name=op.f("ck_devices_status")),
        sa.ForeignKeyConstraint(["area_code"], ["areas.code"], name=op.f("fk_devices_area_code_areas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("hardware_id", name=op.f("uq_devices_hardware_id")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_area_code"), ["area_code"], unique=False)

    op.create_table(
        "play_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("manifest_hash", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_play_logs_device_id_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_play_logs")),
        sa.UniqueConstraint("device_id", "log_id", name=op.f("uq_play_logs_device_id_log_id")),
    )
    with op.batch_alter_table("play_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_play_logs_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_play_logs_manifest_hash"), ["manifest_hash"], unique=False)

    op.create_table(
        "emergency_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("manifest_hash", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_emergency_acks_device_id_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_acks")),
        sa.UniqueConstraint("device_id", "manifest_hash", name=op.f("uq_emergency_acks_device_id_manifest_hash")),
    )
    with op.batch_alter_table("emergency_acks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_emergency_acks_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_emergency_acks_manifest_hash"), ["manifest_hash"], unique=False)

    op.create_table(
        "retractions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("receipt_id", sa.String(length=200), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"],
                                name=op.f("fk_retractions_destination_id_destinations")),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"], name=op.f("fk_retractions_package_id_packages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retractions")),
        sa.UniqueConstraint("package_id", "destination_id", name=op.f("uq_retractions_package_id_destination_id")),
    )
    with op.batch_alter_table("retractions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retractions_package_id"), ["package_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retractions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retractions_package_id"))
    op.drop_table("retractions")
    with op.batch_alter_table("emergency_acks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_acks_manifest_hash"))
        batch_op.drop_index(batch_op.f("ix_emergency_acks_device_id"))
    op.drop_table("emergency_acks")
    with op.batch_alter_table("play_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_play_logs_manifest_hash"))
        batch_op.drop_index(batch_op.f("ix_play_logs_device_id"))
    op.drop_table("play_logs")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_area_code"))
    op.drop_table("devices")
