"""staff profiles, the clinic's profile, medications on the checklist

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROFILE = (
    ("given_name", 80),
    ("family_name", 80),
    ("credentials", 40),
    ("phone", 40),
    ("email", 254),
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        for name, length in _PROFILE:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
    with op.batch_alter_table("checklist_entries") as batch_op:
        batch_op.add_column(sa.Column("medications", sa.JSON(), nullable=True))
    op.create_table(
        "clinic_profile",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("address1", sa.String(length=200), nullable=True),
        sa.Column("address2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=40), nullable=True),
        sa.Column("zip", sa.String(length=20), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("vitals_interval_min", sa.Integer(), server_default="5", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("clinic_profile")
    with op.batch_alter_table("checklist_entries") as batch_op:
        batch_op.drop_column("medications")
    with op.batch_alter_table("users") as batch_op:
        for name, _ in reversed(_PROFILE):
            batch_op.drop_column(name)
