"""Device registration and listing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from vitalwatch.devices.zones import BadZone, zone

Hl7Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
_HL7_IDS_DOC = (
    "HL7 identifiers of this monitor, matched (case-insensitively) against the EUI-64 "
    "in OBX-18 or MSH-3, the bed in PV1-3 (as `unit^room^bed`) or the sending application "
    "(MSH-3, or `application^facility`)"
)


def _check_zone(value: str | None) -> str | None:
    if value is not None:
        try:
            zone(value)
        except BadZone as exc:
            raise ValueError(str(exc)) from None
    return value


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, examples=["Bay 3 monitor"])
    model: str | None = Field(default=None, max_length=120)
    hl7_ids: list[Hl7Id] = Field(
        default_factory=list,
        max_length=16,
        description=_HL7_IDS_DOC,
        examples=[["0012A5FFFE7C1D09"]],
    )
    hl7_timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA time zone of this monitor's HL7 times that carry no offset "
        "(default: VITALWATCH_MLLP_TIMEZONE)",
        examples=["Europe/Berlin"],
    )

    _zone = field_validator("hl7_timezone")(_check_zone)


class DevicePatch(BaseModel):
    """Fields given replace those stored; `hl7_ids` replaces the whole list."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    model: str | None = Field(default=None, max_length=120)
    hl7_ids: list[Hl7Id] | None = Field(default=None, max_length=16, description=_HL7_IDS_DOC)
    hl7_timezone: str | None = Field(default=None, max_length=64)

    _zone = field_validator("hl7_timezone")(_check_zone)


class DeviceOut(BaseModel):
    id: int
    name: str
    model: str | None
    last_seen: datetime | None
    session_id: int | None
    counter_resets: int = Field(
        default=0, description="times the device restarted its sample counter (seq)"
    )
    counter_reset_at: datetime | None = None
    hl7_ids: list[str] = Field(default_factory=list, description=_HL7_IDS_DOC)
    hl7_timezone: str | None = None
    retired: bool = False
    retired_at: datetime | None = None


class DeviceCreated(DeviceOut):
    token: str = Field(description="Shown once; only its hash is stored")


class DeviceRetired(DeviceOut):
    #: The session the monitor was taken out of, if it was in one.
    released_session_id: int | None = None
