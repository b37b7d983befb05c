"""The session object as the contract and every dashboard show it: the session's
record with its monitors, latest values, NEWS2, alarms and discharge readiness."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.patients.schemas import PatientOut
from vitalwatch.records.schemas import ReadinessOut
from vitalwatch.sessions.alarms_off import AlarmOff
from vitalwatch.sessions.schemas import DeviceRef, LatestValue, News2Out
from vitalwatch.sessions.thresholds import Thresholds
from vitalwatch.vitals import Protocol


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
    alarms_off: list[AlarmOff] = Field(
        default_factory=list,
        description="Alarms switched off compared with the protocol's defaults: a limit "
        "removed, a baseline-rise alarm removed, or an alarm delay over VITALWATCH_MAX_SUSTAIN_S",
    )
    readiness: ReadinessOut
