"""production mode: partition fencing, BRIN index on readings time (PostgreSQL)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partition_owners",
        sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partition", name=op.f("pk_partition_owners")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_readings_ts_brin", "readings", ["ts_ms"], unique=False, postgresql_using="brin"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_readings_ts_brin", table_name="readings", postgresql_using="brin")
    op.drop_table("partition_owners")
