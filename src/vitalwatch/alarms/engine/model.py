"""What goes into the engine and what comes out: plain values, no behaviour.

An alarm is one clinical problem of one session (a blood pressure beyond
several limits is one alarm), made of conditions, each of which is one
limit rule (`sbp_high`, `dbp_baseline_rise`, `offline` ...) with its own
priority and transitions. Times are epoch seconds: measurement times for
physiological conditions, the service clock for everything clock-driven.
Samples come in as `vitalwatch.samples.SampleBatch` (epoch milliseconds, as
stored); the engine converts them on entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

RANK: Final = {"low": 0, "medium": 1, "high": 2}

#: The pseudo-session of the station's own alarms (stored with no session).
STATION: Final = 0

#: What a rule says holds now: condition rule -> (priority, metric)
Wanted = dict[str, tuple[str, str | None]]


def higher(a: str | None, b: str | None) -> str | None:
    """The higher of two priorities (None: no priority)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if RANK[a] >= RANK[b] else b


class State(StrEnum):
    """Where an alarm is in its IEC 60601-1-8 life."""

    ALERTING = "alerting"  # condition present, nobody has acknowledged it
    LATCHED = "latched"  # a high alarm whose condition cleared, not yet acknowledged
    ACKNOWLEDGED = "acknowledged"  # a nurse has it; reminders while the condition lasts
    RESOLVED = "resolved"  # over; no longer on the board

    @property
    def public(self) -> str:
        """The contract's state: active | acknowledged | resolved."""
        return {"alerting": "active", "latched": "active"}.get(self.value, self.value)


class Action(StrEnum):
    """What happened to an alarm (the `action` of its live event and log row)."""

    RAISED = "raised"
    UPDATED = "updated"  # live value, worst value or wording changed
    PRIORITY_RAISED = "priority_raised"  # a worse condition: alerts again
    PRIORITY_LOWERED = "priority_lowered"
    CONDITION_MET = "condition_met"  # one condition of the problem began (log)
    CONDITION_ENDED = "condition_ended"  # one condition of the problem ended (log)
    CONDITION_CLEARED = "condition_cleared"  # latched: nothing holds any more
    CONDITION_RETURNED = "condition_returned"
    ESCALATED = "escalated"  # handed to people (secondary notification)
    ACKNOWLEDGED = "acknowledged"
    SILENCED = "silenced"
    SILENCE_EXPIRED = "silence_expired"
    REMINDER = "reminder"
    RESOLVED = "resolved"


#: Which of several actions of one alarm in one evaluation names its live event.
SIGNIFICANCE: Final = {
    a: i
    for i, a in enumerate(
        [
            Action.UPDATED,
            Action.CONDITION_MET,
            Action.CONDITION_ENDED,
            Action.PRIORITY_LOWERED,
            Action.SILENCE_EXPIRED,
            Action.SILENCED,
            Action.REMINDER,
            Action.CONDITION_CLEARED,
            Action.ACKNOWLEDGED,
            Action.RESOLVED,
            Action.ESCALATED,
            Action.CONDITION_RETURNED,
            Action.PRIORITY_RAISED,
            Action.RAISED,
        ]
    )
}

#: Actions kept in the alarm log (live value refreshes are not transitions).
LOGGED: Final = frozenset(set(Action) - {Action.UPDATED})


class MetricLimits(Protocol):
    """One metric's limits (None: no such limit), as sessions/thresholds.py validates them."""

    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...
    @property
    def critical_low(self) -> float | None: ...
    @property
    def critical_high(self) -> float | None: ...
    @property
    def for_s(self) -> float | None: ...


class BaselineRise(Protocol):
    """Rises over the pre-dose baseline that raise an alarm (None: off)."""

    @property
    def sbp(self) -> float | None: ...
    @property
    def dbp(self) -> float | None: ...
    @property
    def hr(self) -> float | None: ...


class Limits(Protocol):
    """The limits in force for a session: the engine reads, never validates, them
    (a structural type, so the engine needs no pydantic; `Thresholds` is one)."""

    @property
    def hr(self) -> MetricLimits: ...
    @property
    def sbp(self) -> MetricLimits: ...
    @property
    def dbp(self) -> MetricLimits: ...
    @property
    def map(self) -> MetricLimits: ...
    @property
    def spo2(self) -> MetricLimits: ...
    @property
    def rr(self) -> MetricLimits: ...
    @property
    def baseline_rise(self) -> BaselineRise: ...


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What the engine needs to know about one active session."""

    session_id: int
    protocol: str
    thresholds: Limits
    device_names: dict[int, str]
    started_at: float
    first_dose_at: float | None = None
    baseline: dict[str, float] | None = None


@dataclass(frozen=True, slots=True)
class ConditionView:
    """One condition of an alarm as stored and shown."""

    rule: str  # "sbp_high", "dbp_baseline_rise", "offline", "no_signal:spo2" ...
    metric: str | None
    priority: str  # the highest tier it reached in this alarm
    active: bool
    value: float | None  # the metric's latest value
    limit: float | None  # the limit it is (or was) beyond
    baseline: float | None
    since: float | None  # when the current episode began (None: not active)
    worst: float | None
    worst_at: float | None


@dataclass(frozen=True, slots=True)
class AlarmView:
    """The state of one alarm after a transition, as stored and shown."""

    session_id: int
    rule: str  # the problem: "bp", "hr", "spo2", "rr", "monitor:3", "no_monitor" ...
    kind: str  # physiological | technical
    metric: str | None
    priority: str
    state: State
    condition_active: bool
    value: float | None
    threshold: float | None
    worst_value: float | None
    worst_at: float | None
    message: str
    raised_at: float
    alerted_at: float
    conditions: tuple[ConditionView, ...] = ()
    acked_at: float | None = None
    acked_by: str | None = None
    silenced_until: float | None = None
    escalated_at: float | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    device_id: int | None = None
    first_delivered_at: float | None = None
    dashboards: int = 0
    first_seen_at: float | None = None
    id: int | None = None  # the store's key, once stored
    uid: int = 0  # the engine's key of this alarm (stable within one process)


@dataclass(frozen=True, slots=True)
class Transition:
    """One thing that happened to one alarm; `view` is the alarm after it."""

    action: Action
    ts: float
    message: str
    view: AlarmView
    user: str | None = None
    condition: str | None = None  # the condition a condition_* action is about
    priority: str | None = None  # of that condition; else the alarm's
    value: float | None = None
    threshold: float | None = None

    @property
    def session_id(self) -> int:
        return self.view.session_id

    @property
    def kind(self) -> str:
        return self.view.kind

    @property
    def rule(self) -> str:
        return self.view.rule
