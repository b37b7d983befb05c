"""alarms as clinical problems: conditions, live and worst values, delivery
receipts; readings keyed by (device, seq, ts) so a monitor's restarted
counter keeps its samples

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:00:00

Stored alarms are migrated: each row's rule becomes its problem ("sbp_high"
-> "bp", "device_offline:3" -> "monitor:3"), with the old rule as its one
condition. Where one session had several open alarms of one problem (SBP and
DBP above limits), the newest stays open and the others are resolved, so the
list shows one entry per problem from the first start on.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TZ = sa.DateTime(timezone=True)


def _problem(rule: str) -> tuple[str, str]:
    """(problem, condition) of an old per-condition rule name."""
    head, _, rest = rule.partition(":")
    if head == "device_offline":
        return f"monitor:{rest}", "offline"
    if head == "signal_lost":
        metric, _, dev = rest.partition(":")
        return f"monitor:{dev}", f"no_signal:{metric}"
    metric = rule.split("_", 1)[0]
    if metric in ("sbp", "dbp", "map"):
        return "bp", rule
    if metric in ("hr", "spo2", "rr"):
        return metric, rule
    return rule, rule


def upgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("worst_value", sa.Float(), nullable=True))
        batch.add_column(sa.Column("worst_at", _TZ, nullable=True))
        batch.add_column(sa.Column("conditions", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("alerted_at", _TZ, nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("first_delivered_at", _TZ, nullable=True))
        batch.add_column(sa.Column("dashboards", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("first_seen_at", _TZ, nullable=True))
    _migrate_alarms()
    with op.batch_alter_table("alarms") as batch:
        batch.alter_column("session_id", existing_type=sa.BigInteger(), nullable=True)
        batch.alter_column("conditions", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("alerted_at", existing_type=_TZ, nullable=False)
        batch.alter_column("dashboards", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("alarm_log") as batch:
        batch.add_column(sa.Column("condition", sa.String(length=32), nullable=True))
    op.create_table(
        "alarm_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("alarm_id", sa.BigInteger(), nullable=False),
        sa.Column("dashboard", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("sound", sa.Boolean(), nullable=False),
        sa.Column("received_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_receipts")),
    )
    with op.batch_alter_table("alarm_receipts") as batch:
        batch.create_index(batch.f("ix_alarm_receipts_alarm_id"), ["alarm_id"], unique=False)
    op.create_table(
        "dashboards",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("sound", sa.Boolean(), nullable=False),
        sa.Column("seen_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboards")),
    )
    with op.batch_alter_table("dashboards") as batch:
        batch.create_index(batch.f("ix_dashboards_seen_at"), ["seen_at"], unique=False)
    with op.batch_alter_table("readings") as batch:
        batch.drop_constraint("uq_readings_device_seq", type_="unique")
        batch.create_unique_constraint("uq_readings_device_seq_ts", ["device_id", "ts_ms", "seq"])
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("counter_resets", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("counter_reset_at", _TZ, nullable=True))
    op.execute("UPDATE devices SET counter_resets = 0")
    with op.batch_alter_table("devices") as batch:
        batch.alter_column("counter_resets", existing_type=sa.Integer(), nullable=False)


def _migrate_alarms() -> None:
    bind = op.get_bind()
    alarms = sa.table(
        "alarms",
        sa.column("id", sa.BigInteger()),
        sa.column("session_id", sa.BigInteger()),
        sa.column("rule", sa.String()),
        sa.column("metric", sa.String()),
        sa.column("priority", sa.String()),
        sa.column("state", sa.String()),
        sa.column("condition_active", sa.Boolean()),
        sa.column("value", sa.Float()),
        sa.column("threshold", sa.Float()),
        sa.column("raised_at", _TZ),
        sa.column("resolved_at", _TZ),
        sa.column("conditions", sa.JSON()),
        sa.column("alerted_at", _TZ),
        sa.column("dashboards", sa.Integer()),
        sa.column("worst_value", sa.Float()),
        sa.column("worst_at", _TZ),
    )
    rows = bind.execute(
        sa.select(
            alarms.c.id,
            alarms.c.session_id,
            alarms.c.rule,
            alarms.c.metric,
            alarms.c.priority,
            alarms.c.state,
            alarms.c.condition_active,
            alarms.c.value,
            alarms.c.threshold,
            alarms.c.raised_at,
        ).order_by(alarms.c.id)
    ).all()
    newest_open: dict[tuple[int, str], int] = {}
    for r in rows:
        problem, condition = _problem(r.rule)
        if r.state != "resolved":
            newest_open[(r.session_id, problem)] = r.id
    now = datetime.now(UTC)
    for r in rows:
        problem, condition = _problem(r.rule)
        values: dict[str, object] = {
            "rule": problem,
            "alerted_at": r.raised_at,
            "dashboards": 0,
            "worst_value": r.value,
            "worst_at": r.raised_at,
            "conditions": json.loads(
                json.dumps(
                    [
                        {
                            "rule": condition,
                            "metric": r.metric,
                            "priority": r.priority,
                            "active": bool(r.condition_active),
                            "value": r.value,
                            "limit": r.threshold,
                            "baseline": None,
                            "since": r.raised_at.timestamp() if r.condition_active else None,
                            "worst": r.value,
                            "worst_at": r.raised_at.timestamp(),
                        }
                    ]
                )
            ),
        }
        if r.state != "resolved" and newest_open[(r.session_id, problem)] != r.id:
            values.update(state="resolved", condition_active=False, resolved_at=now)
        bind.execute(sa.update(alarms).where(alarms.c.id == r.id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("counter_reset_at")
        batch.drop_column("counter_resets")
    with op.batch_alter_table("readings") as batch:
        batch.drop_constraint("uq_readings_device_seq_ts", type_="unique")
        batch.create_unique_constraint("uq_readings_device_seq", ["device_id", "seq"])
    with op.batch_alter_table("dashboards") as batch:
        batch.drop_index(batch.f("ix_dashboards_seen_at"))
    op.drop_table("dashboards")
    op.execute(
        "DELETE FROM alarm_log WHERE alarm_id IN (SELECT id FROM alarms WHERE session_id IS NULL)"
    )
    op.execute("DELETE FROM alarms WHERE session_id IS NULL")
    with op.batch_alter_table("alarm_receipts") as batch:
        batch.drop_index(batch.f("ix_alarm_receipts_alarm_id"))
    op.drop_table("alarm_receipts")
    with op.batch_alter_table("alarm_log") as batch:
        batch.drop_column("condition")
    with op.batch_alter_table("alarms") as batch:
        batch.alter_column("session_id", existing_type=sa.BigInteger(), nullable=False)
        for name in (
            "first_seen_at",
            "dashboards",
            "first_delivered_at",
            "resolved_by",
            "alerted_at",
            "conditions",
            "worst_at",
            "worst_value",
        ):
            batch.drop_column(name)
