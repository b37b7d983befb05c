"""Alarm objects exactly as the contract's "Alarms" part shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AlarmState = Literal["active", "acknowledged", "resolved"]
Priority = Literal["high", "medium", "low"]


class AlarmOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    kind: Literal["physiological", "technical"]
    metric: str | None
    rule: str
    priority: Priority
    state: AlarmState
    condition_active: bool
    value: float | None
    threshold: float | None
    message: str
    raised_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    silenced_until: datetime | None
    resolved_at: datetime | None
    device_id: int | None = None
    escalated_at: datetime | None = None


class SilenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(default=120, ge=1, le=300, description="Audio paused; at most 300 s")


class AlarmLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    alarm_id: int
    ts: datetime
    action: str
    priority: Priority
    value: float | None
    threshold: float | None
    message: str
    user: str | None
    #: Facts of the entry (secondary notification: target, attempt, outcome, key).
    detail: dict[str, Any] | None = None
