"""Session payloads: the contract's "Sessions" part."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.alarms.thresholds import Thresholds, ThresholdsPatch
from vitalwatch.ids import BodyId
from vitalwatch.vitals import Protocol

EventKind = Literal["dose", "phase", "note"]
#: The timeline also shows what VitalWatch adds: the monitor's own alarms (HL7
#: ORU^R40), a monitor naming another patient, readings a nurse typed in or struck.
TimelineKind = Literal[
    "dose",
    "phase",
    "note",
    "monitor_alarm",
    "monitor_warning",
    "manual_reading",
    "reading_struck",
]


class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=1, max_length=64, description="MRN or pseudonym")
    display_name: str | None = Field(default=None, max_length=120)


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient: PatientIn
    protocol: Protocol
    room: str | None = Field(default=None, max_length=64)
    device_ids: list[BodyId] = Field(default_factory=list, max_length=16)
    thresholds: ThresholdsPatch | None = None


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: EventKind
    ts: AwareDatetime | None = Field(default=None, description="When it happened; now if left out")
    detail: str | None = Field(default=None, max_length=2000)


class EventOut(BaseModel):
    id: int
    session_id: int
    kind: TimelineKind
    ts: datetime
    detail: str | None
    created_by: int | None


class DeviceRef(BaseModel):
    id: int
    name: str


class PatientOut(BaseModel):
    ref: str
    display_name: str | None


class LatestValue(BaseModel):
    value: float
    ts: datetime


class News2Out(BaseModel):
    score: int
    level: str
    any_three: bool
    missing: list[str]


class SessionOut(BaseModel):
    id: int
    patient: PatientOut
    protocol: Protocol
    room: str | None
    status: Literal["active", "ended"]
    started_at: datetime
    ended_at: datetime | None
    ended_early: bool
    first_dose_at: datetime | None
    observation_min: int | None
    observation_until: datetime | None
    devices: list[DeviceRef]
    device_ids: list[int]
    thresholds: Thresholds
    baseline: dict[str, float | None]
    latest: dict[str, LatestValue]
    news2: News2Out | None
    alarms: list[AlarmOut]


class ManualPoint(BaseModel):
    """A value a nurse typed in (struck ones are left out of the series)."""

    ts: datetime
    value: float
    entry_id: int
    entered_by: str


class ReadingSeries(BaseModel):
    metric: str
    ts: list[datetime]
    values: list[float]
    manual: list[ManualPoint] = Field(
        default_factory=list, description="The points of the series a nurse typed in"
    )
