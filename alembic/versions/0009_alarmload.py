"""alarm-load report: alarms by the time they were raised

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alarms_raised_at", "alarms", ["raised_at"])


def downgrade() -> None:
    op.drop_index("ix_alarms_raised_at", table_name="alarms")
