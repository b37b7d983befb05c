"""Readings: one row per sample, one nullable column per metric.

`ts_ms` is the device's measurement time in epoch milliseconds: an integer
keeps the hot insert path free of per-row datetime conversion on every
backend and indexes compactly; the API speaks RFC 3339.

Time-series access: every read is by session and time (ix_readings_session_ts).
On PostgreSQL a BRIN index on ts_ms (a few kB for months of rows, as rows
arrive in time order) serves the retention job, which deletes the readings of
sessions ended longer ago than VITALWATCH_READINGS_RETENTION_DAYS.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Table, UniqueConstraint

from vitalwatch.db import Base, BigIntPK

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
