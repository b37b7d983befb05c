"""SDC tables: which provider (by its endpoint reference) feeds which device, and
the metric values a provider sent that were not taken as values."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, UTCDateTime, utcnow


class SdcBinding(Base):
    """An admin's binding of a discovered SDC provider to a VitalWatch device
    (one provider per device, one device per provider)."""

    __tablename__ = "sdc_bindings"

    epr: Mapped[str] = mapped_column(String(200), primary_key=True)
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("devices.id"), unique=True)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    bound_by: Mapped[str] = mapped_column(String(120))


class SdcSkipped(Base):
    """Metric values not stored as values, counted per provider, code and reason
    (validity questionable, calibration ongoing, a unit not of the metric's kind...)."""

    __tablename__ = "sdc_skipped"

    epr: Mapped[str] = mapped_column(String(200), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(120), primary_key=True)
    metric: Mapped[str | None] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
