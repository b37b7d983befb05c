"""Unassigned monitors, unmapped rows, monitor alarms: what the API shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vitalwatch.ids import BodyId


class Identifier(BaseModel):
    kind: str = Field(description="eui64, hardware, bed, application or address")
    value: str


class UnassignedOut(BaseModel):
    id: int
    identifier: str = Field(description="The one a registration gives the new device")
    identifiers: list[Identifier]
    address: str | None
    first_seen: datetime
    last_seen: datetime
    messages: int
    sample: dict[str, Any] = Field(
        description="What it sends (message type, version, OBX rows), without patient data"
    )


class RegisterUnassigned(BaseModel):
    """A new device (`name`), or the identifier added to an existing one (`device_id`)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    model: str | None = Field(default=None, max_length=120)
    device_id: BodyId | None = None
    identifier: str | None = Field(
        default=None, max_length=200, description="Which of its identifiers (default: the main one)"
    )

    @model_validator(mode="after")
    def _one_of(self) -> RegisterUnassigned:
        if (self.name is None) == (self.device_id is None):
            raise ValueError("give either name (a new device) or device_id (an existing one)")
        return self


class UnmappedOut(BaseModel):
    reason: str
    system: str
    code: str
    text: str
    unit: str
    example: str
    count: int
    first_seen: datetime
    last_seen: datetime


class MonitorAlarmOut(BaseModel):
    id: int
    session_id: int
    device_id: int
    device_name: str
    ts: datetime
    code: str
    label: str
    message: str = Field(examples=["Monitor: ** RR High"])
    priority: str | None
    kind: str = Field(description="physiological | technical | advisory, as the monitor says")
    phase: str
    state: str
    active: bool
    metric: str | None
    source: str | None
    value: float | None
    unit: str | None
    limits: str | None
