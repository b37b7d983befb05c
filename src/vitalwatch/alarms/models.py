"""Alarms and the alarm log (IEC 60601-1-8: every transition with its user)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class Alarm(Base):
    """One occurrence of one alarm condition; one open row per session and rule."""

    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_session_state", "session_id", "state"),
        Index("ix_alarms_state", "state"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sessions.id"))
    device_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # physiological | technical
    metric: Mapped[str | None] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))  # active | acknowledged | resolved
    condition_active: Mapped[bool] = mapped_column(default=True)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(64))
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlarmLogEntry(Base):
    """Every transition of an alarm: raise, escalation, ack, silence, clear, resolve."""

    __tablename__ = "alarm_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alarms.id"), index=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    user: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
