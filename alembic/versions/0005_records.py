"""records: patients' details, dose data on the timeline, checklists, observations,
discharge readiness and REMS forms

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("sex", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data", sa.JSON(), nullable=True))
    op.create_table(
        "record_profiles",
        sa.Column("id", _ID, nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("observation_interval_min", sa.Float(), nullable=False),
        sa.Column("sbp_margin", sa.Float(), nullable=False),
        sa.Column("dbp_margin", sa.Float(), nullable=False),
        sa.Column("hr_margin", sa.Float(), nullable=False),
        sa.Column("quiet_min", sa.Integer(), nullable=False),
        sa.Column("bp_max_age_min", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_profiles")),
    )
    op.create_index("ix_record_profiles_protocol", "record_profiles", ["protocol", "id"])
    op.create_table(
        "checklist_entries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("item_key", sa.String(length=48), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("clinician", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("bp_sbp", sa.Float(), nullable=True),
        sa.Column("bp_dbp", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by_name", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_checklist_entries_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_entries")),
        sa.UniqueConstraint(
            "session_id", "item_key", name=op.f("uq_checklist_entries_session_id_item_key")
        ),
    )
    op.create_table(
        "observations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moass", sa.SmallInteger(), nullable=True),
        sa.Column("dissociation", sa.String(length=16), nullable=True),
        sa.Column("cadss", sa.SmallInteger(), nullable=True),
        sa.Column("nausea", sa.Boolean(), nullable=True),
        sa.Column("vomiting", sa.Boolean(), nullable=True),
        sa.Column("respiratory_depression", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_observations_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
    )
    op.create_index("ix_observations_session_ts", "observations", ["session_id", "ts"])
    op.create_table(
        "session_readiness",
        sa.Column("session_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stable_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_off_by", sa.String(length=64), nullable=True),
        sa.Column("left_with", sa.String(length=120), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_session_readiness_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_readiness")),
    )
    op.create_table(
        "rems_forms",
        sa.Column("session_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_rems_forms_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_rems_forms")),
    )


def downgrade() -> None:
    op.drop_table("rems_forms")
    op.drop_table("session_readiness")
    op.drop_index("ix_observations_session_ts", table_name="observations")
    op.drop_table("observations")
    op.drop_table("checklist_entries")
    op.drop_index("ix_record_profiles_protocol", table_name="record_profiles")
    op.drop_table("record_profiles")
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.drop_column("data")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("sex")
        batch_op.drop_column("date_of_birth")
