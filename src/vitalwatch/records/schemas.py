"""Record payloads: record profiles, checklist, observations, readiness, the
REMS form and the patient's series (a dose itself is a timeline event:
sessions/schemas.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from vitalwatch.ids import Moment
from vitalwatch.patients.schemas import PatientOut

ItemKind = Literal["check", "bp_gate"]
#: the medications the REMS form asks about (checklist item "concomitant_medications")
Medication = Literal["benzodiazepines", "sedative_hypnotics", "psychostimulants", "maois"]
MEDICATIONS_ITEM = "concomitant_medications"
Dissociation = Literal["none", "mild", "moderate", "severe"]


class ChecklistItemDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9_]{1,48}$")
    label: str = Field(min_length=1, max_length=200)
    kind: ItemKind = "check"


class RecordProfileIn(BaseModel):
    """A protocol's clinic settings (admin); a new version for sessions started after."""

    model_config = ConfigDict(extra="forbid")

    checklist: list[ChecklistItemDef] = Field(min_length=1, max_length=30)
    observation_interval_min: float = Field(default=15, ge=0.25, le=240)
    sbp_margin: float = Field(default=20, gt=0, le=100, description="mmHg either side of baseline")
    dbp_margin: float = Field(default=15, gt=0, le=100)
    hr_margin: float = Field(default=20, gt=0, le=100, description="/min either side of baseline")
    quiet_min: int = Field(default=15, ge=0, le=240, description="minutes without any alarm")
    bp_max_age_min: int = Field(default=20, ge=1, le=240, description="the discharge BP's age")

    @model_validator(mode="after")
    def _keys(self) -> RecordProfileIn:
        keys = [i.key for i in self.checklist]
        if len(set(keys)) != len(keys):
            raise PydanticCustomError("checklist", "checklist keys must be unique")
        if sum(i.kind == "bp_gate" for i in self.checklist) > 1:
            raise PydanticCustomError("checklist", "at most one bp_gate item")
        return self


class RecordProfileOut(RecordProfileIn):
    protocol: str
    version: int | None  # None: the built-in defaults, never edited
    created_at: datetime | None
    created_by: str | None


class ChecklistAnswer(BaseModel):
    """A check item: `done`. The BP gate: a clinician's `decision` with `reason`."""

    model_config = ConfigDict(extra="forbid")

    done: bool | None = None
    decision: Literal["proceed", "defer"] | None = None
    clinician: str | None = Field(default=None, min_length=1, max_length=120)
    reason: str | None = Field(default=None, min_length=1, max_length=1000)
    note: str | None = Field(default=None, max_length=1000)
    medications: dict[Medication, bool] | None = Field(
        default=None,
        description="concomitant_medications item: is the patient taking each (true/false)",
    )


class BpValue(BaseModel):
    sbp: float
    dbp: float
    ts: datetime


class ChecklistItemOut(BaseModel):
    key: str
    label: str
    kind: ItemKind
    satisfied: bool
    status: str  # what a nurse reads: "Done", "Not done", "BP 128/82 at 10:02 within 140/90" ...
    done: bool
    decision: str | None = None
    clinician: str | None = None
    reason: str | None = None
    note: str | None = None
    bp: BpValue | None = None
    medications: dict[str, bool] | None = None
    by: str | None = None
    at: datetime | None = None


class ChecklistOut(BaseModel):
    session_id: int
    protocol: str
    items: list[ChecklistItemOut]
    complete: bool
    missing: list[str]  # labels of the items not satisfied


class InfusionStop(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ts: Moment | None = Field(default=None, description="When it stopped; now if left out")


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ts: Moment | None = Field(default=None, description="When observed; now if left out")
    moass: int | None = Field(default=None, ge=0, le=5, description="MOAA/S 0 (none) - 5 (alert)")
    dissociation: Dissociation | None = None
    cadss: int | None = Field(default=None, ge=0, le=92, description="CADSS total score")
    nausea: bool | None = None
    vomiting: bool | None = None
    respiratory_depression: bool | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _something(self) -> ObservationIn:
        fields = ("moass", "dissociation", "cadss", "nausea", "vomiting")
        if all(getattr(self, f) is None for f in (*fields, "respiratory_depression", "note")):
            raise PydanticCustomError("observation", "send at least one observation")
        return self


class ObservationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    ts: datetime
    moass: int | None
    dissociation: Dissociation | None
    cadss: int | None
    nausea: bool | None
    vomiting: bool | None
    respiratory_depression: bool | None
    note: str | None
    created_by: str | None


ObservationField = Literal["moass", "cadss"]


class ObservationSeries(BaseModel):
    field: str
    ts: list[datetime]
    values: list[float]


class ReadinessOut(BaseModel):
    """Discharge readiness as the server computes it; `ready` only when every
    criterion holds, and `reasons` says in a nurse's words what is missing."""

    applies: bool  # a dose has been given
    observation_until: datetime | None = None
    observation_met: bool = False
    vitals_near_baseline: bool = False
    bp_checkpoints_met: bool | None = None  # None: not required by the protocol
    no_recent_alarm: bool = False
    quiet_until: datetime | None = None
    sedation_ok: bool = False
    last_moass: int | None = None
    last_moass_at: datetime | None = None
    stable: bool = False
    #: start of the last uninterrupted stretch in which `stable` held (kept at sign-off)
    stable_at: datetime | None = None
    ready: bool = False
    #: start of the last uninterrupted stretch in which `ready` held (kept at sign-off)
    first_ready_at: datetime | None = None
    reasons: list[str] = Field(default_factory=list)
    observation_due: bool = False
    next_observation_due_at: datetime | None = None
    signed_off_at: datetime | None = None
    signed_off_by: str | None = None
    left_with: str | None = None
    override_reason: str | None = None
    #: the newest BP is older than the profile's `bp_max_age_min`: not blocking,
    #: the sign-off asks about it (`bp_overdue_answer`)
    bp_overdue: bool = False
    last_bp_at: datetime | None = None
    bp_overdue_answer: str | None = None


class SignOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left_with: str = Field(min_length=1, max_length=120, description="To whom the patient left")
    note: str | None = Field(default=None, max_length=2000)
    override_reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=1000,
        description="Required to sign off while the criteria are not met",
    )
    bp_overdue_answer: str | None = Field(
        default=None,
        min_length=3,
        max_length=500,
        description="Required when the newest BP is older than the profile's bp_max_age_min: "
        "why no newer BP (e.g. 'stable, BP at 10:40 near baseline, cuff removed')",
    )


class RemsField(BaseModel):
    key: str
    section: str
    label: str
    kind: str
    options: list[str]
    value: Any
    prefilled: Any
    source: str | None  # where the pre-filled value comes from
    answered: bool  # the nurse gave or confirmed this value
    needed: bool
    required: bool = True  # the program requires it (middle initial, address 2 do not)
    gap: bool  # needed, required and empty: for the nurse to complete
    #: computed from the readings, never the answer: the clinician answers
    suggestion: str | None = None
    suggestion_basis: str | None = None  # the readings and the limits it used


class RemsFormOut(BaseModel):
    session_id: int
    status: Literal["draft", "submitted"]
    due_date: date | None
    days_left: int | None  # of the 7 calendar days; negative: overdue
    fields: list[RemsField]
    gaps: list[str]
    alarms: list[str]
    time_zone: str  # the clinic's: every time on the form is in it
    updated_at: datetime | None
    updated_by: str | None
    submitted_at: datetime | None
    submitted_by: str | None
    submitted_at_text: str | None = None  # in the clinic's zone, named
    updated_at_text: str | None = None


class RemsAnswers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(description="Field key -> value; null clears an answer")


class ClinicIn(BaseModel):
    """The healthcare setting as the records name it (admin)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    address1: str | None = Field(default=None, min_length=1, max_length=200)
    address2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, min_length=1, max_length=100)
    state: str | None = Field(default=None, min_length=1, max_length=40)
    zip: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9 -]{3,20}$")
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ()./-]{5,40}$")
    vitals_interval_min: int = Field(
        default=5, ge=1, le=60, description="the report's vitals table: minutes per row"
    )


class ClinicOut(ClinicIn):
    time_zone: str = Field(description="VITALWATCH_CLINIC_TIMEZONE: every record time is in it")
    updated_at: datetime | None = None
    updated_by: str | None = None


class FormDue(BaseModel):
    session_id: int
    patient_id: int
    patient_ref: str
    patient_name: str | None
    room: str | None
    session_date: date
    due_date: date
    days_left: int
    status: Literal["draft", "submitted"]
    gaps: int
    submitted_at: datetime | None
    submitted_by: str | None


class SeriesSession(BaseModel):
    """One session of a course: the figures a prescriber compares (after the dose)."""

    session_id: int
    protocol: str
    started_at: datetime
    first_dose_at: datetime | None
    status: str
    dose_mg: float | None  # the session's total
    dose_parts_mg: list[float] = Field(default_factory=list)  # each dose given, in order
    dose: str | None  # the total with its parts: "esketamine 3 x 28 mg = 84 mg"
    baseline_sbp: float | None
    baseline_dbp: float | None
    baseline_hr: float | None
    peak_sbp: float | None
    peak_dbp: float | None
    peak_hr: float | None
    lowest_spo2: float | None
    lowest_moass: int | None
    alarms: dict[str, int]  # priority -> how many
    #: minutes from the first dose to the start of the last stretch in which every
    #: criterion held (records/readiness.py; as kept at the sign-off)
    ready_min: int | None
    stable_min: int | None  # ... the criteria other than the observation time
    signed_off_at: datetime | None


class SeriesOut(BaseModel):
    patient: PatientOut
    sessions: list[SeriesSession]
