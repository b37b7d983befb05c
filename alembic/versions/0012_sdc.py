"""sdc: SDC provider bindings and skipped metric values

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sdc_bindings",
        sa.Column("epr", sa.String(length=200), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bound_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_sdc_bindings_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("epr", name=op.f("pk_sdc_bindings")),
        sa.UniqueConstraint("device_id", name=op.f("uq_sdc_bindings_device_id")),
    )
    op.create_table(
        "sdc_skipped",
        sa.Column("epr", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("epr", "code", "reason", name=op.f("pk_sdc_skipped")),
    )


def downgrade() -> None:
    op.drop_table("sdc_skipped")
    op.drop_table("sdc_bindings")
