"""HL7 tables: senders nobody registered yet, rows the
mapping does not use, and the monitors' own alarm reports (ORU^R40)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class Hl7Sender(Base):
    """A sender no device is registered for: the "unassigned monitors" list."""

    __tablename__ = "hl7_senders"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # casefolded main identifier
    display: Mapped[str] = mapped_column(String(200))
    identifiers: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    address: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    #: what it sends, without patient data: message type, version, OBX rows
    sample: Mapped[dict[str, Any]] = mapped_column(JSON)


class Hl7Unmapped(Base):
    """OBX rows the mapping does not use, counted per code, unit and reason."""

    __tablename__ = "hl7_unmapped"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)  # sha1 of the fields below
    reason: Mapped[str] = mapped_column(String(120))
    system: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(64))
    example: Mapped[str] = mapped_column(String(64))  # a value seen
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MonitorAlarm(Base):
    """One alarm report of a monitor (ORU^R40): shown, stored, never evaluated.

    A resent report (same device, control id, alarm and time) is stored once.
    """

    __tablename__ = "monitor_alarms"
    __table_args__ = (
        UniqueConstraint(
            "device_id", "control_id", "code", "ts_ms", name="uq_monitor_alarms_report"
        ),
        Index("ix_monitor_alarms_session_ts", "session_id", "ts_ms"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sessions.id"))
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("devices.id"))
    control_id: Mapped[str] = mapped_column(String(80))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    priority: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(120))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(64))
    limits: Mapped[str | None] = mapped_column(String(64))
    #: 1 when this report started, changed or ended what the nurse sees (a
    #: timeline entry and a live event); 0 for a repeat "continue".
    shown: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
