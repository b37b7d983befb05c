"""Vitals a nurse typed in: who, when, and whether a nurse struck them out.

The values themselves are a row of `readings` (device = the session's manual
source, seq = this row's id), stored and evaluated like any sample; this row
says who entered it and keeps the strike (the reading stays in the record).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class ManualReading(Base):
    __tablename__ = "manual_readings"
    __table_args__ = (
        Index("ix_manual_readings_device_seq", "device_id", "seq", unique=True),
        Index("ix_manual_readings_session", "session_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sessions.id"))
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("devices.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    entered_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    entered_by_name: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    struck_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    struck_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    struck_by_name: Mapped[str | None] = mapped_column(String(64))
    strike_reason: Mapped[str | None] = mapped_column(String(500))
