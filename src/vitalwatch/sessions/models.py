"""Patients, dosing sessions, bound devices and the dosing timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow
from vitalwatch.patients.models import Patient as Patient  # where it lived before


class Session(Base):
    """One supervised dosing session of one patient."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    patient_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("patients.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(32))
    room: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Per-metric pre-dose medians, fixed when the baseline window closes.
    baseline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the session was entered; later than started_at for a session
    #: entered after it began (POST with started_at): its monitors were bound
    #: then, so "no data" is counted from here.
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    first_dose_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_early: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    ended_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))


class SessionEvent(Base):
    """The dosing timeline: doses, phases, notes."""

    __tablename__ = "session_events"
    __table_args__ = (Index("ix_session_events_session_ts", "session_id", "ts"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sessions.id"))
    kind: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(Text)
    #: A dose's drug, amount, route, lot, infusion times and the checklist at dose
    #: time (records/doses.py); None for other events.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
