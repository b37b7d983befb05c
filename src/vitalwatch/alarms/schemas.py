"""Alarm objects exactly as the contract's "Alarms" part shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AlarmState = Literal["active", "acknowledged", "resolved"]
Priority = Literal["high", "medium", "low"]


class ConditionOut(BaseModel):
    """One limit rule of the problem, with its own value, limit and worst value."""

    rule: str = Field(description='e.g. "sbp_high", "dbp_baseline_rise", "offline"')
    metric: str | None
    priority: Priority = Field(description="the highest priority it reached in this alarm")
    active: bool = Field(description="it holds now")
    value: float | None = Field(description="the metric's latest value")
    limit: float | None = Field(description="the limit it is (or was) beyond")
    baseline: float | None = Field(description="for a rise over baseline: the baseline")
    since: datetime | None = Field(description="when the current episode began")
    worst: float | None
    worst_at: datetime | None


class DeliveryOut(BaseModel):
    """Whether the alarm reached people: dashboards confirm what they showed."""

    first_delivered_at: datetime | None = Field(description="first shown on any dashboard")
    dashboards: int = Field(description="how many dashboards have shown it")
    first_seen_at: datetime | None = Field(
        description="first shown on a visible screen with sound enabled"
    )


class AlarmOut(BaseModel):
    """One clinical problem of one session (one list entry), kept true as it changes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int | None = Field(
        description='the session; null for the station\'s own "no_dashboard" alarm'
    )
    kind: Literal["physiological", "technical"]
    metric: str | None = Field(description="the metric of the worst condition")
    rule: str = Field(
        description='the problem: "bp", "hr", "spo2", "rr", "monitor:<device id>", '
        '"no_monitor", "bp_overdue", "bp_check_due", "predose_bp_review", "sedation", '
        '"no_dashboard" (no visible, sound-enabled dashboard while sessions are active)'
    )
    priority: Priority = Field(description="the clinical priority now")
    state: AlarmState
    condition_active: bool
    value: float | None = Field(description="the current value of `metric`")
    threshold: float | None = Field(description="the limit it is beyond")
    worst_value: float | None = None
    worst_at: datetime | None = None
    conditions: list[ConditionOut] = []
    message: str
    raised_at: datetime
    alerted_at: datetime | None = Field(
        default=None,
        description="when the current unanswered alert began (the raise, or a worse "
        "condition after an acknowledgement): the dashboard's 'unanswered' timer",
    )
    acked_at: datetime | None
    acked_by: str | None
    silenced_until: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None = None
    device_id: int | None = None
    escalated_at: datetime | None = Field(
        default=None, description="when it was handed to secondary notification"
    )
    delivery: DeliveryOut | None = None


class SilenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(default=120, ge=1, le=300, description="Audio paused; at most 300 s")


class AlarmLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    alarm_id: int
    ts: datetime
    action: str
    condition: str | None = None
    priority: Priority
    value: float | None
    threshold: float | None
    message: str
    user: str | None
