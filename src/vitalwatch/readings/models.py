"""Readings: one row per sample, one nullable column per metric.

`ts_ms` is the device's measurement time in epoch milliseconds: an integer
keeps the hot insert path free of per-row datetime conversion on every
backend and indexes compactly; the API speaks RFC 3339.

Time-series access: every read is by session and time (ix_readings_session_ts).
On PostgreSQL a BRIN index on ts_ms (a few kB for months of rows, as rows
arrive in time order) serves the retention job, which deletes the readings of
sessions ended longer ago than VITALWATCH_READINGS_RETENTION_DAYS.

`manual_readings` says who typed a reading in and keeps a nurse's strike: a
struck reading stays in the record but out of charts, baselines and the
engine, so every readings query reads it (the manual domain writes it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Float, ForeignKey, Index, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow

readings = Table(
    "readings",
    Base.metadata,
    Column("id", BigIntPK, primary_key=True),
    Column("session_id", BigInteger, nullable=False),
    Column("device_id", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    Column("hr", Float),
    Column("sbp", Float),
    Column("dbp", Float),
    Column("map", Float),
    Column("spo2", Float),
    Column("rr", Float),
    # a retry repeats (device, ts, seq); a restarted counter repeats seq at new times
    UniqueConstraint("device_id", "ts_ms", "seq", name="uq_readings_device_seq_ts"),
    Index("ix_readings_session_ts", "session_id", "ts_ms"),
    Index(
        "ix_readings_ts_brin", "ts_ms", postgresql_using="brin", info={"dialects": ["postgresql"]}
    ).ddl_if(dialect="postgresql"),
)


class ManualReading(Base):
    """Vitals a nurse typed in: the values are a row of `readings` (device = the
    session's manual source, seq = this row's id); this row says who entered
    them and whether a nurse struck them out."""

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
