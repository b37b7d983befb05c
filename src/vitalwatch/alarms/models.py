"""Alarms and the alarm log (IEC 60601-1-8: every transition with its user)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class Alarm(Base):
    """One occurrence of one clinical problem (rule: "bp", "spo2", "monitor:3" ...);
    at most one open row per session and rule. `conditions` holds each limit
    rule of the problem with its own value, limit and worst value."""

    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_session_state", "session_id", "state"),
        Index("ix_alarms_state", "state"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: None for the station's own alarm ("no_dashboard": nobody is watching).
    session_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("sessions.id"))
    device_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # physiological | technical
    metric: Mapped[str | None] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))  # active | acknowledged | resolved
    condition_active: Mapped[bool] = mapped_column(default=True)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    worst_value: Mapped[float | None] = mapped_column(Float)
    worst_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(64))
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    first_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dashboards: Mapped[int] = mapped_column(default=0)
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlarmLogEntry(Base):
    """Every transition of an alarm: raise, escalation, ack, silence, clear, resolve."""

    __tablename__ = "alarm_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alarms.id"), index=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(24))
    #: The condition a condition_met / condition_ended row is about ("sbp_high").
    condition: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    user: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlarmReceipt(Base):
    """A dashboard confirmed it showed an alarm (issue: delivery confirmed).

    Written by whichever process serves the dashboard; read by the process
    that evaluates the alarm's session, which keeps the alarm's delivery
    summary (first delivered, how many dashboards, first on a visible screen
    with sound on)."""

    __tablename__ = "alarm_receipts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    #: No foreign key: ids come from dashboards, and an unknown one is ignored
    #: by the evaluator rather than failing the whole batch of receipts.
    alarm_id: Mapped[int] = mapped_column(BigInteger, index=True)
    dashboard: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    visible: Mapped[bool] = mapped_column()
    sound: Mapped[bool] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DashboardSeen(Base):
    """A connected dashboard and whether it can alert a nurse (visible, sound on),
    refreshed by its status messages; rows older than 30 s do not count."""

    __tablename__ = "dashboards"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    visible: Mapped[bool] = mapped_column()
    sound: Mapped[bool] = mapped_column()
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
