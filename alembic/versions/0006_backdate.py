"""backdate: sessions.recorded_at (when a session was entered; started_at may be earlier)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE sessions SET recorded_at = started_at")


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("recorded_at")
