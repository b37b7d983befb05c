"""Session payloads: the contract's "Sessions" part."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.alarms.thresholds import Thresholds, ThresholdsPatch
from vitalwatch.ids import BodyId
from vitalwatch.patients.schemas import PatientIn, PatientOut
from vitalwatch.records.schemas import DoseIn, DoseRecord, ReadinessOut
from vitalwatch.vitals import Protocol

EventKind = Literal["dose", "phase", "note"]


class SessionCreate(BaseModel):
    """`patient` picks the patient by reference (created when new), `patient_id`
    picks one on record; exactly one of them."""

    model_config = ConfigDict(extra="forbid")

    patient: PatientIn | None = None
    patient_id: BodyId | None = None
    protocol: Protocol
    room: str | None = Field(default=None, max_length=64)
    device_ids: list[BodyId] = Field(default_factory=list, max_length=16)
    thresholds: ThresholdsPatch | None = None

    @model_validator(mode="after")
    def _one_patient(self) -> SessionCreate:
        if (self.patient is None) == (self.patient_id is None):
            raise PydanticCustomError(
                "patient", "send exactly one of patient {ref, display_name} or patient_id"
            )
        return self


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: EventKind
    ts: AwareDatetime | None = Field(default=None, description="When it happened; now if left out")
    detail: str | None = Field(default=None, max_length=2000)
    dose: DoseIn | None = Field(default=None, description="kind dose: drug, amount, route, lot")
    override_reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=1000,
        description="kind dose: why the dose is given with the pre-dose checklist incomplete",
    )


class EventOut(BaseModel):
    id: int
    session_id: int
    kind: EventKind
    ts: datetime
    detail: str | None
    created_by: int | None
    dose: DoseRecord | None = None


class DeviceRef(BaseModel):
    id: int
    name: str


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
    readiness: ReadinessOut


class ReadingSeries(BaseModel):
    metric: str
    ts: list[datetime]
    values: list[float]
