"""What a clinic documents around a session: the protocol's record profile
(checklist, observation interval, discharge margins), checklist answers,
nurses' observations, discharge readiness and sign-off, REMS forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class RecordProfile(Base):
    """One version of a protocol's clinic settings; a session uses the version in
    force when it started, so an edit never rewrites an earlier record."""

    __tablename__ = "record_profiles"
    __table_args__ = (Index("ix_record_profiles_protocol", "protocol", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    protocol: Mapped[str] = mapped_column(String(32))
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    observation_interval_min: Mapped[float] = mapped_column(Float)
    sbp_margin: Mapped[float] = mapped_column(Float)
    dbp_margin: Mapped[float] = mapped_column(Float)
    hr_margin: Mapped[float] = mapped_column(Float)
    quiet_min: Mapped[int] = mapped_column(Integer)
    bp_max_age_min: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))


class ChecklistEntry(Base):
    """The current answer to one pre-dose checklist item (its history: audit_log)."""

    __tablename__ = "checklist_entries"
    __table_args__ = (UniqueConstraint("session_id", "item_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sessions.id"))
    item_key: Mapped[str] = mapped_column(String(48))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    #: BP gate: "proceed" | "defer", by which clinician, why, on which reading
    decision: Mapped[str | None] = mapped_column(String(16))
    clinician: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    bp_sbp: Mapped[float | None] = mapped_column(Float)
    bp_dbp: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    #: concomitant medications item: each medication asked -> taking it (bool)
    medications: Mapped[dict[str, bool] | None] = mapped_column(JSON)
    by_name: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Observation(Base):
    """A nurse's observation round: any of sedation, dissociation, nausea,
    vomiting, respiratory depression and a note."""

    __tablename__ = "observations"
    __table_args__ = (Index("ix_observations_session_ts", "session_id", "ts"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    session_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sessions.id"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    moass: Mapped[int | None] = mapped_column(SmallInteger)
    dissociation: Mapped[str | None] = mapped_column(String(16))
    cadss: Mapped[int | None] = mapped_column(SmallInteger)
    nausea: Mapped[bool | None] = mapped_column(Boolean)
    vomiting: Mapped[bool | None] = mapped_column(Boolean)
    respiratory_depression: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionReadiness(Base):
    """When the discharge criteria were first met, and the nurse's sign-off."""

    __tablename__ = "session_readiness"

    session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sessions.id"), primary_key=True, autoincrement=False
    )
    #: kept at the sign-off: start of the last stretch with vitals near baseline,
    #: no recent alarm, MOAA/S 5 (the REMS "ready to leave without the 2-hour rule")
    stable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: kept at the sign-off: the same with every criterion, the observation time included
    first_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_off_by: Mapped[str | None] = mapped_column(String(64))
    left_with: Mapped[str | None] = mapped_column(String(120))
    override_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    #: the nurse's answer at the sign-off when the newest BP was overdue
    bp_overdue_answer: Mapped[str | None] = mapped_column(Text)


class RemsForm(Base):
    """The nurse's answers to the REMS Patient Monitoring Form, and its submission
    (made by the clinic on the REMS portal: VitalWatch sends nothing)."""

    __tablename__ = "rems_forms"

    session_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sessions.id"), primary_key=True, autoincrement=False
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str | None] = mapped_column(String(64))


class ClinicProfile(Base):
    """The healthcare setting as the records name it (admin-edited; one row, id 1):
    the REMS form's setting fields, the report's heading, the report's vitals
    table interval. The clinic's time zone stays a setting (VITALWATCH_CLINIC_TIMEZONE)."""

    __tablename__ = "clinic_profile"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(200))
    address1: Mapped[str | None] = mapped_column(String(200))
    address2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(40))
    zip: Mapped[str | None] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(40))
    vitals_interval_min: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))
