"""Vitals typed in by a nurse."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vitalwatch.ids import Moment


class ManualEntry(BaseModel):
    """What a nurse read off a standalone monitor. Ranges are checked as for a device."""

    model_config = ConfigDict(extra="forbid")

    sbp: float | None = Field(default=None, description="Systolic, mmHg (with dbp)")
    dbp: float | None = Field(default=None, description="Diastolic, mmHg (with sbp)")
    map: float | None = Field(default=None, description="Mean, mmHg (derived when left out)")
    hr: float | None = Field(default=None, description="Heart or pulse rate, /min")
    spo2: float | None = Field(default=None, description="SpO2, %")
    rr: float | None = Field(default=None, description="Respiratory rate, /min")
    ts: Moment | None = Field(
        default=None, description="When it was measured: now if left out; not before the session"
    )


class StrikeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, examples=["typed 210 for 120"])


class ManualReadingOut(BaseModel):
    id: int
    session_id: int
    ts: datetime
    sbp: float | None
    dbp: float | None
    map: float | None
    hr: float | None
    spo2: float | None
    rr: float | None
    entered_by: str
    entered_at: datetime
    struck: bool
    struck_at: datetime | None
    struck_by: str | None
    strike_reason: str | None
