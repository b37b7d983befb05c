"""The alarm-load report and the limit changes, as the contract shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from vitalwatch.vitals import Protocol

GroupBy = Literal["day", "protocol", "rule"]


class AlarmLoadRow(BaseModel):
    """The figures of one group (a day, a protocol, a problem or one of its conditions)."""

    day: date | None = Field(default=None, description="the clinic's calendar day (by day)")
    protocol: Protocol | None = Field(default=None, description="the protocol (by protocol)")
    rule: str | None = Field(
        default=None,
        description='the problem (by rule): "bp", "hr", "spo2", "rr", "monitor" (every '
        '"monitor:<device id>"), "no_monitor", "bp_overdue", "bp_check_due", '
        '"predose_bp_review", "sedation"',
    )
    condition: str | None = Field(
        default=None,
        description='one condition of the problem ("sbp_high", "no_signal:spo2"); '
        "null on the problem's own row",
    )
    label: str = Field(description='the group in the clinic\'s words ("SBP high", "All")')
    sessions: int = Field(description="sessions monitored in the group's days and protocol")
    monitored_hours: float = Field(
        description="patient-hours monitored: session durations clipped to the range"
    )
    alarms: int = Field(description="alarm entries raised (one per clinical problem)")
    alarms_per_patient_hour: float | None = Field(description="null without monitored time")
    acknowledged: int = Field(description="alarms acknowledged at least once")
    ack_median_s: float | None = Field(
        description="time to acknowledge, median: first alert to first acknowledgement"
    )
    ack_p90_s: float | None = Field(description="time to acknowledge, 90th percentile")
    unanswered: int = Field(
        description="closed without an acknowledgement (cleared by themselves, or closed "
        "by the end of the session)"
    )
    escalated: int = Field(description="handed to secondary notification at least once")
    nuisance: int = Field(
        description="cleared by themselves within 30 s of being raised, nobody having "
        "acknowledged or silenced them (nuisance candidates)"
    )
    open: int = Field(description="still open when the report was made")


class AlarmLoadReport(BaseModel):
    since: date = Field(description="first day (the clinic's time zone)")
    until: date = Field(description="last day, included")
    timezone: str = Field(description="the zone of the day boundaries")
    protocol: Protocol | None
    group_by: GroupBy
    generated_at: datetime
    totals: AlarmLoadRow
    rows: list[AlarmLoadRow]


class LimitChangeItem(BaseModel):
    """One limit changed by one request."""

    metric: str = Field(description='"hr", "sbp", "dbp", "map", "spo2", "rr"')
    limit: Literal["low", "high", "critical_low", "critical_high", "for_s", "baseline_rise"]
    old: float | None = Field(description="null: there was no such limit")
    new: float | None = Field(description="null: the limit was removed")
    label: str = Field(description='in words: "SpO2 low 92 -> 90", "SpO2 low 92 -> off"')


class LimitChange(BaseModel):
    """A nurse's change of a session's alarm limits (the audit entry)."""

    at: datetime
    user: str | None = Field(description="who changed them")
    session_id: int
    room: str | None
    protocol: Protocol
    changes: list[LimitChangeItem]
    reason: str | None = Field(description="the reason given, if any")
    switched_off: list[str] = Field(description='alarms this change switched off ("SpO2 low")')
    switched_on: list[str] = Field(description="alarms this change switched back on")


class LimitSummary(BaseModel):
    """How often one limit was changed in the range, and which way."""

    metric: str
    limit: str
    label: str = Field(description='"SpO2 low"')
    changes: int
    raised: int
    lowered: int
    removed: int = Field(description="changes that removed the limit (alarm off)")
    added: int = Field(description="changes that set a limit where there was none")


class LimitChangesReport(BaseModel):
    since: date
    until: date
    timezone: str
    protocol: Protocol | None
    generated_at: datetime
    changes: list[LimitChange] = Field(description="newest first")
    summary: list[LimitSummary] = Field(description="most changed first")
    truncated: bool = Field(description="more changes than one report lists: narrow the range")
