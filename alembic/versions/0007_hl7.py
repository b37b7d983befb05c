"""hl7: HL7 identifiers of devices, unassigned senders, unmapped rows, monitor alarms, manual readings

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:15:38.991463
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hl7_senders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("display", sa.String(length=200), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("sample", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_senders")),
        sa.UniqueConstraint("key", name=op.f("uq_hl7_senders_key")),
    )
    op.create_table(
        "hl7_unmapped",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=120), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("example", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_hl7_unmapped")),
    )
    op.create_table(
        "device_hl7_ids",
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("display", sa.String(length=200), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_hl7_ids_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("identifier", name=op.f("pk_device_hl7_ids")),
    )
    with op.batch_alter_table("device_hl7_ids", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_hl7_ids_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "manual_readings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("entered_by", sa.BigInteger(), nullable=True),
        sa.Column("entered_by_name", sa.String(length=64), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("struck_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("struck_by", sa.BigInteger(), nullable=True),
        sa.Column("struck_by_name", sa.String(length=64), nullable=True),
        sa.Column("strike_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_manual_readings_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["entered_by"], ["users.id"], name=op.f("fk_manual_readings_entered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_manual_readings_session_id_sessions")
        ),
        sa.ForeignKeyConstraint(
            ["struck_by"], ["users.id"], name=op.f("fk_manual_readings_struck_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manual_readings")),
    )
    with op.batch_alter_table("manual_readings", schema=None) as batch_op:
        batch_op.create_index("ix_manual_readings_device_seq", ["device_id", "seq"], unique=True)
        batch_op.create_index("ix_manual_readings_session", ["session_id"], unique=False)

    op.create_table(
        "monitor_alarms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("control_id", sa.String(length=80), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("metric", sa.String(length=8), nullable=True),
        sa.Column("source", sa.String(length=120), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("limits", sa.String(length=64), nullable=True),
        sa.Column("shown", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_monitor_alarms_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_monitor_alarms_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_alarms")),
        sa.UniqueConstraint(
            "device_id", "control_id", "code", "ts_ms", name="uq_monitor_alarms_report"
        ),
    )
    with op.batch_alter_table("monitor_alarms", schema=None) as batch_op:
        batch_op.create_index("ix_monitor_alarms_session_ts", ["session_id", "ts_ms"], unique=False)

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="monitor", nullable=False)
        )
        batch_op.add_column(sa.Column("hl7_timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("hl7_timezone")
        batch_op.drop_column("kind")

    with op.batch_alter_table("monitor_alarms", schema=None) as batch_op:
        batch_op.drop_index("ix_monitor_alarms_session_ts")

    op.drop_table("monitor_alarms")
    with op.batch_alter_table("manual_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_manual_readings_session")
        batch_op.drop_index("ix_manual_readings_device_seq")

    op.drop_table("manual_readings")
    with op.batch_alter_table("device_hl7_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_hl7_ids_device_id"))

    op.drop_table("device_hl7_ids")
    op.drop_table("hl7_unmapped")
    op.drop_table("hl7_senders")
