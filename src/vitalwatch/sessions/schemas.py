"""Session payloads: the contract's "Sessions" part."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from vitalwatch.ids import BodyId, Moment
from vitalwatch.patients.schemas import PatientIn
from vitalwatch.sessions.thresholds import Thresholds, ThresholdsPatch
from vitalwatch.vitals import Metric, Protocol

Route = Literal["iv_infusion", "iv_bolus", "im", "intranasal", "sc", "oral", "other"]
DoseUnit = Literal["mg", "mg/kg"]

ROUTE_LABELS = {
    "iv_infusion": "IV infusion",
    "iv_bolus": "IV bolus",
    "im": "intramuscular",
    "intranasal": "intranasal",
    "sc": "subcutaneous",
    "oral": "oral",
    "other": "other",
}


EventKind = Literal["dose", "phase", "note"]
#: What the timeline shows: the kinds staff add, and what the service itself
#: writes: "alarm_off"/"alarm_on" when a limit change switches an alarm off or
#: back on, "late_readings" when samples measured during the session arrived
#: after its monitor was bound to another, the monitor's own alarms (HL7
#: ORU^R40), a monitor naming another patient, readings a nurse typed in or struck.
TimelineKind = Literal[
    "dose",
    "phase",
    "note",
    "alarm_off",
    "alarm_on",
    "late_readings",
    "monitor_alarm",
    "monitor_warning",
    "manual_reading",
    "reading_struck",
]


class DoseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drug: str | None = Field(default=None, min_length=1, max_length=80)
    amount: float | None = Field(default=None, gt=0, le=2000)
    unit: DoseUnit = "mg"
    weight_kg: float | None = Field(default=None, gt=0, le=400)
    route: Route | None = None
    lot_number: str | None = Field(default=None, min_length=1, max_length=40)
    infusion_stop: Moment | None = None


class DoseRecord(BaseModel):
    """A dose as stored on the timeline, with the checklist as it stood."""

    drug: str | None = None
    amount: float | None = None
    unit: DoseUnit = "mg"
    weight_kg: float | None = None
    total_mg: float | None = None
    route: Route | None = None
    lot_number: str | None = None
    infusion_start: datetime | None = None
    infusion_stop: datetime | None = None
    checklist_complete: bool = True
    checklist_missing: list[str] = Field(default_factory=list)
    override_reason: str | None = None


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
    started_at: Moment | None = Field(
        default=None,
        description="When the session began, if before now (entered late): at most 12 h ago",
    )

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
    ts: Moment | None = Field(default=None, description="When it happened; now if left out")
    detail: str | None = Field(default=None, max_length=2000)
    dose: DoseIn | None = Field(default=None, description="kind dose: drug, amount, route, lot")
    override_reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=1000,
        description="kind dose: why the dose is given with the pre-dose checklist incomplete",
    )


class EventMonitorAlarm(BaseModel):
    """Which of a monitor's own alarms a `monitor_alarm` entry is, so the
    timeline tells a probe off from the patient at a glance."""

    id: int = Field(description="the report, as in GET /api/v1/sessions/{id}/monitor-alarms")
    kind: str = Field(description="physiological | technical | advisory, as the monitor says")
    priority: str | None = Field(description="high | medium | low; null: the monitor did not say")
    active: bool = Field(description="false: the entry is the alarm's end")


class EventOut(BaseModel):
    id: int
    session_id: int
    kind: TimelineKind
    ts: datetime
    detail: str | None
    created_by: int | None
    dose: DoseRecord | None = None
    monitor_alarm: EventMonitorAlarm | None = Field(
        default=None, description="kind monitor_alarm: the monitor's alarm it shows"
    )


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


class ThresholdsChange(ThresholdsPatch):
    """A PATCH of the limits, with why (asked for when it switches an alarm off)."""

    reason: str | None = Field(
        default=None,
        max_length=500,
        description="Why; written to the audit log and, for an alarm switched off, the timeline",
    )

    def limits(self) -> ThresholdsPatch:
        """The limits part alone, as the merge takes it."""
        return ThresholdsPatch.model_validate(
            self.model_dump(exclude_unset=True, exclude={"reason"})
        )


class ProtocolOut(BaseModel):
    """A protocol in the clinic's words, with the limits a session starts from."""

    name: Protocol
    label: str
    observation_min: int | None
    thresholds: Thresholds
    max_sustain_s: float


class TrendSeries(BaseModel):
    session_id: int
    metric: Metric
    ts: list[datetime]
    values: list[float]


class Trends(BaseModel):
    items: list[TrendSeries]
