"""secondary notification: targets, escalation chain, durable outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_targets",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notify_targets_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_targets")),
        sa.UniqueConstraint("name", name=op.f("uq_notify_targets_name")),
    )
    op.create_table(
        "notify_chain",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("delay_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["notify_targets.id"],
            name=op.f("fk_notify_chain_target_id_notify_targets"),
        ),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_notify_chain")),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("alarm_id", sa.BigInteger(), nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("link_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_notify_outbox_alarm_id_alarms")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["notify_targets.id"],
            name=op.f("fk_notify_outbox_target_id_notify_targets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_notify_outbox_key")),
    )
    op.create_index("ix_notify_outbox_state_due", "notify_outbox", ["state", "due_at"])
    op.create_index("ix_notify_outbox_alarm", "notify_outbox", ["alarm_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_notify_outbox_alarm", table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_state_due", table_name="notify_outbox")
    op.drop_table("notify_outbox")
    op.drop_table("notify_chain")
    op.drop_table("notify_targets")
