"""discharge sign-off: the nurse's answer when the newest BP was overdue

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("session_readiness") as batch:
        batch.add_column(sa.Column("bp_overdue_answer", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_readiness") as batch:
        batch.drop_column("bp_overdue_answer")
