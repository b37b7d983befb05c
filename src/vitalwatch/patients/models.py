"""Patients as records: the reference (MRN or pseudonym) is the identifier a
clinic uses; logs carry only the database id."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)  # MRN or pseudonym
    display_name: Mapped[str | None] = mapped_column(String(120))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    #: FHIR AdministrativeGender: female | male | other | unknown
    sex: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
