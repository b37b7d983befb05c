"""Monitoring devices and their binding to sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    model: Mapped[str | None] = mapped_column(String(120))
    #: SHA-256 of the device token: tokens are 256-bit random, so a fast hash is
    #: safe and lets ingest find the device by an index lookup.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The active session the device is bound to (at most one: enforced by the
    #: conditional UPDATE in devices.repository.bind).
    session_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sessions.id"), index=True
    )
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired: Mapped[bool] = mapped_column(default=False)
    #: Times the device restarted its sample counter (seq back to 0), and the last.
    counter_resets: Mapped[int] = mapped_column(default=0)
    counter_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: "monitor", or "manual": the per-session source of vitals a nurse types in
    #: (never listed, never watched for technical alarms).
    kind: Mapped[str] = mapped_column(String(16), default="monitor", server_default="monitor")
    #: IANA time zone of HL7 times without an offset (None: VITALWATCH_MLLP_TIMEZONE).
    hl7_timezone: Mapped[str | None] = mapped_column(String(64))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeviceHl7Id(Base):
    """An identifier an HL7 message names its sender by (EUI-64, bed, application)."""

    __tablename__ = "device_hl7_ids"

    #: casefolded, trimmed: what messages are matched on (unique: one device each)
    identifier: Mapped[str] = mapped_column(String(200), primary_key=True)
    display: Mapped[str] = mapped_column(String(200))  # as the admin wrote it
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("devices.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionDevice(Base):
    """Which devices fed a session, and when (the history behind devices.session_id)."""

    __tablename__ = "session_devices"

    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sessions.id"), primary_key=True)
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("devices.id"), primary_key=True)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
