"""Patient payloads: the record a clinic keeps, and what a session start sends."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vitalwatch.ids import BodyId

#: FHIR AdministrativeGender, so the export needs no mapping.
Sex = Literal["female", "male", "other", "unknown"]


def _plausible_birth(value: date | None) -> date | None:
    if value is not None and not date(1900, 1, 1) <= value <= date.today():
        raise ValueError("date_of_birth must be between 1900-01-01 and today")
    return value


class PatientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=1, max_length=64, description="MRN or pseudonym")
    display_name: str | None = Field(default=None, max_length=120)
    date_of_birth: date | None = None
    sex: Sex | None = None

    _birth = field_validator("date_of_birth")(_plausible_birth)


class PatientPatch(BaseModel):
    """Fields sent replace those on record (audited with old and new values)."""

    model_config = ConfigDict(extra="forbid")

    ref: str | None = Field(default=None, min_length=1, max_length=64)
    display_name: str | None = Field(default=None, max_length=120)
    date_of_birth: date | None = None
    sex: Sex | None = None

    _birth = field_validator("date_of_birth")(_plausible_birth)


class PatientIn(BaseModel):
    """The patient of a new session: picked by reference, created when new.

    A known reference sent with another display name, date of birth or sex is
    refused (409) unless `confirm_rename` is true, which applies it, audited.
    """

    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=1, max_length=64, description="MRN or pseudonym")
    display_name: str | None = Field(default=None, max_length=120)
    date_of_birth: date | None = None
    sex: Sex | None = None
    confirm_rename: bool = Field(
        default=False, description="Apply a different name/date of birth/sex to a known patient"
    )

    _birth = field_validator("date_of_birth")(_plausible_birth)


class PatientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ref: str
    display_name: str | None
    date_of_birth: date | None = None
    sex: Sex | None = None


class PatientRecord(PatientOut):
    created_at: datetime
    updated_at: datetime | None


class PatientSession(BaseModel):
    """One session of a patient, as listed on the patient's record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    protocol: str
    room: str | None
    status: str
    started_at: datetime
    first_dose_at: datetime | None
    ended_at: datetime | None


class PatientDetail(PatientRecord):
    sessions: list[PatientSession]


class PatientRef(BaseModel):
    """Pick an existing patient by id when starting a session."""

    id: BodyId
