"""The alarm lifecycle as one explicit state machine (IEC 60601-1-8).

An `Alarm` is one clinical problem; its `conditions` say which limits hold.
Every change of state goes through `apply(alarm, input)`, which returns the
actions taken. The rules:

- The priority shown is the clinical one: the highest among the conditions
  that hold, or high while a high alarm is latched (physiological high
  alarms latch until acknowledged; technical ones never latch).
- A worse condition alerts again: when the priority rises above what was
  acknowledged or silenced, the alarm is alerting (unacknowledged) again,
  the audio pause ends, and it needs its own acknowledgement.
- An alarm nobody acknowledges is escalated to people after a time per
  priority (secondary notification); its colour does not change.
- Acknowledged while the condition persists: a reminder every 3 min.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, NamedTuple

from vitalwatch.alarms.engine.model import (
    RANK,
    Action,
    AlarmView,
    ConditionView,
    State,
    higher,
)

REMINDER_EVERY_S: Final = 180.0
SILENCE_MAX_S: Final = 300.0
#: Unanswered for this long (service clock): the alarm goes to people.
ESCALATE_AFTER_S: Final = {"high": 60.0, "medium": 120.0}


@dataclass
class Condition:
    """One limit rule of a problem, with what it has seen in this alarm."""

    rule: str
    metric: str | None
    high: bool = True  # worse is higher (False: worse is lower)
    priority: str | None = None  # the tier met now; None: not met
    peak: str = "low"  # the highest tier met in this alarm
    value: float | None = None
    value_at: float | None = None
    limit: float | None = None
    baseline: float | None = None
    since: float | None = None
    worst: float | None = None
    worst_at: float | None = None

    def meet(
        self, priority: str, value: float | None, limit: float | None, since: float, ts: float
    ) -> None:
        if self.priority is None:
            self.since = since
        self.priority = priority
        self.peak = higher(self.peak, priority) or priority
        self.limit = limit
        self.note(value, ts)

    def end(self) -> None:
        self.priority = None
        self.since = None

    def note(self, value: float | None, ts: float) -> bool:
        """A new value of the metric; True when it is a new worst."""
        if value is None:
            return False
        self.value, self.value_at = value, ts
        worse = self.worst is None or (value > self.worst if self.high else value < self.worst)
        if worse and self.priority is not None:
            self.worst, self.worst_at = value, ts
            return True
        return False

    def view(self) -> ConditionView:
        return ConditionView(
            rule=self.rule,
            metric=self.metric,
            priority=self.priority or self.peak,
            active=self.priority is not None,
            value=self.value,
            limit=self.limit,
            baseline=self.baseline,
            since=self.since,
            worst=self.worst,
            worst_at=self.worst_at,
        )


@dataclass
class Alarm:
    """One clinical problem of one session, from raise to resolve."""

    session_id: int
    rule: str
    kind: str
    raised_at: float  # measurement time (physiological) or service clock
    alerted_at: float  # service clock: when the current unanswered alert began
    device_id: int | None = None
    conditions: dict[str, Condition] = field(default_factory=dict)
    state: State = State.ALERTING
    priority: str = "low"
    message: str = ""
    acked_at: float | None = None
    acked_by: str | None = None
    acked_priority: str | None = None
    silenced_until: float | None = None
    silenced_priority: str | None = None
    escalated_at: float | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    last_reminder: float | None = None
    latched_high: bool = False  # reached high while unacknowledged
    first_delivered_at: float | None = None  # first reached a dashboard
    dashboards: set[str] = field(default_factory=set)  # dashboards that have it
    first_seen_at: float | None = None  # first on a visible screen with sound on
    last_seen_at: float | None = None  # ... most recently (the 5-s rule reads it)
    updated_clock: float = 0.0  # when its live value was last published
    id: int | None = None  # the store's key, once stored
    uid: int = 0  # the engine's own key: tells apart alarms of one problem over time

    @property
    def condition_priority(self) -> str | None:
        """The highest priority among the conditions that hold now."""
        out: str | None = None
        for c in self.conditions.values():
            out = higher(out, c.priority)
        return out

    @property
    def condition_active(self) -> bool:
        return self.condition_priority is not None

    @property
    def is_open(self) -> bool:
        return self.state is not State.RESOLVED

    def primary(self) -> Condition | None:
        """The condition the alarm is named after: the worst that holds (else the worst seen)."""
        best: Condition | None = None
        for c in self.conditions.values():
            key = (c.priority is not None, RANK[c.priority or c.peak])
            if best is None or key > (best.priority is not None, RANK[best.priority or best.peak]):
                best = c
        return best

    def view(self) -> AlarmView:
        main = self.primary()
        return AlarmView(
            session_id=self.session_id,
            rule=self.rule,
            kind=self.kind,
            metric=None if main is None else main.metric,
            priority=self.priority,
            state=self.state,
            condition_active=self.condition_active,
            value=None if main is None else main.value,
            threshold=None if main is None else main.limit,
            worst_value=None if main is None else main.worst,
            worst_at=None if main is None else main.worst_at,
            message=self.message,
            raised_at=self.raised_at,
            alerted_at=self.alerted_at,
            conditions=tuple(c.view() for c in self.conditions.values()),
            acked_at=self.acked_at,
            acked_by=self.acked_by,
            silenced_until=self.silenced_until,
            escalated_at=self.escalated_at,
            resolved_at=self.resolved_at,
            resolved_by=self.resolved_by,
            device_id=self.device_id,
            first_delivered_at=self.first_delivered_at,
            dashboards=len(self.dashboards),
            first_seen_at=self.first_seen_at,
            id=self.id,
            uid=self.uid,
        )

    def delivered(self, dashboard: str, at: float, alerting: bool) -> None:
        """A dashboard showed it; `alerting`: on a visible screen with sound on."""
        self.dashboards.add(dashboard)
        if self.first_delivered_at is None:
            self.first_delivered_at = at
        if alerting:
            self.first_seen_at = at if self.first_seen_at is None else self.first_seen_at
            self.last_seen_at = max(at, self.last_seen_at or at)


# -- inputs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConditionsChanged:
    """The conditions were updated in place; `clock` is the service clock."""

    ts: float
    clock: float


@dataclass(frozen=True, slots=True)
class Acknowledge:
    now: float
    user: str


@dataclass(frozen=True, slots=True)
class Silence:
    now: float
    seconds: float
    user: str


@dataclass(frozen=True, slots=True)
class Tick:
    now: float
    escalate_after: dict[str, float]
    #: An alert no visible, sound-enabled screen showed within this long goes to people.
    delivery_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Escalate:
    """Hand the alarm to people now (for example: no screen showed it)."""

    now: float
    reason: str


@dataclass(frozen=True, slots=True)
class Close:
    """The alarm ends whatever its state (session ended, device unbound ...)."""

    ts: float
    reason: str
    user: str | None = None


Input = ConditionsChanged | Acknowledge | Silence | Tick | Escalate | Close


class Step(NamedTuple):
    """One action taken on an alarm, with what its log row says."""

    action: Action
    note: str
    user: str | None = None
    condition: str | None = None  # for condition_met / condition_ended
    priority: str | None = None  # of that condition
    value: float | None = None
    limit: float | None = None


def apply(alarm: Alarm, event: Input) -> list[Step]:
    """The one place an alarm changes state."""
    if alarm.state is State.RESOLVED:
        return []
    match event:
        case ConditionsChanged():
            return _conditions(alarm, event)
        case Acknowledge():
            return _acknowledge(alarm, event)
        case Silence():
            seconds = min(max(event.seconds, 1.0), SILENCE_MAX_S)
            alarm.silenced_until = event.now + seconds
            alarm.silenced_priority = alarm.priority
            return [
                Step(Action.SILENCED, f"Audio paused {seconds:.0f} s by {event.user}", event.user)
            ]
        case Tick():
            return _tick(alarm, event)
        case Escalate():
            return _escalate(alarm, event.now, event.reason)
        case Close():
            return [_resolve(alarm, event.ts, event.reason, event.user)]
    raise TypeError(event)


def _latches(alarm: Alarm) -> bool:
    return alarm.kind == "physiological"


def _alert_again(alarm: Alarm, clock: float) -> None:
    """A new alert: unacknowledged, sounding, its own unanswered timer."""
    alarm.state = State.ALERTING
    alarm.alerted_at = clock
    alarm.escalated_at = None
    alarm.silenced_until = None
    alarm.silenced_priority = None
    alarm.acked_priority = None


def _conditions(alarm: Alarm, event: ConditionsChanged) -> list[Step]:
    p = alarm.condition_priority
    before = alarm.priority
    if p is None:  # nothing holds any more
        if alarm.state is State.ALERTING and alarm.latched_high:
            alarm.state = State.LATCHED
            return [
                Step(Action.CONDITION_CLEARED, "Condition cleared: acknowledge to dismiss", None)
            ]
        if alarm.state is State.LATCHED:
            return []
        return [_resolve(alarm, event.ts, "Back within limits", None)]
    if alarm.state is State.LATCHED:  # still unacknowledged: the same alert goes on
        alarm.state = State.ALERTING
        alarm.priority = higher(p, before) or p
        return [Step(Action.CONDITION_RETURNED, "Condition back", None)]
    if alarm.state is State.ACKNOWLEDGED:
        acked = alarm.acked_priority or before
        alarm.priority = p
        if RANK[p] > RANK[acked]:
            _alert_again(alarm, event.clock)
            alarm.latched_high = _latches(alarm) and p == "high"
            return [Step(Action.PRIORITY_RAISED, "Worse since acknowledged: alerting again", None)]
        return _priority_moved(before, p)
    # alerting
    shown = "high" if alarm.latched_high else p
    alarm.priority = shown
    if RANK[shown] > RANK[before]:
        if (
            alarm.silenced_until is not None
            and RANK[shown] > RANK[alarm.silenced_priority or before]
        ):
            _alert_again(alarm, event.clock)
        alarm.latched_high = alarm.latched_high or (_latches(alarm) and shown == "high")
        return [Step(Action.PRIORITY_RAISED, "Worse: priority raised", None)]
    return _priority_moved(before, shown)


def _priority_moved(before: str, now: str) -> list[Step]:
    if RANK[now] < RANK[before]:
        return [Step(Action.PRIORITY_LOWERED, f"Priority now {now}", None)]
    return []


def _acknowledge(alarm: Alarm, event: Acknowledge) -> list[Step]:
    if alarm.state is State.ACKNOWLEDGED:
        return []
    steps: list[Step] = [Step(Action.ACKNOWLEDGED, f"Acknowledged by {event.user}", event.user)]
    alarm.state = State.ACKNOWLEDGED
    alarm.acked_at, alarm.acked_by = event.now, event.user
    alarm.silenced_until = alarm.silenced_priority = None
    alarm.last_reminder = event.now
    alarm.latched_high = False
    p = alarm.condition_priority
    if p is None:
        steps.append(
            _resolve(alarm, event.now, "Acknowledged after the condition cleared", event.user)
        )
    else:
        alarm.priority = alarm.acked_priority = p
    return steps


def _tick(alarm: Alarm, event: Tick) -> list[Step]:
    steps: list[Step] = []
    now = event.now
    if alarm.silenced_until is not None and now >= alarm.silenced_until:
        alarm.silenced_until = alarm.silenced_priority = None
        steps.append(Step(Action.SILENCE_EXPIRED, "Audio pause ended", None))
    after = event.escalate_after.get(alarm.priority)
    timeout = event.delivery_timeout
    if (
        timeout is not None
        and after is not None
        and alarm.state is State.ALERTING
        and now - alarm.alerted_at >= timeout
        and (alarm.last_seen_at is None or alarm.last_seen_at < alarm.alerted_at)
    ):
        steps += _escalate(alarm, now, f"on no visible screen with sound on within {timeout:.0f} s")
    if (
        after is not None
        and alarm.state in (State.ALERTING, State.LATCHED)
        and now - alarm.alerted_at >= after
    ):
        steps += _escalate(alarm, now, f"not acknowledged within {after:.0f} s")
    if alarm.state is State.ACKNOWLEDGED and alarm.condition_active:
        since = alarm.last_reminder if alarm.last_reminder is not None else now
        if now - since >= REMINDER_EVERY_S:
            alarm.last_reminder = now
            steps.append(Step(Action.REMINDER, "Still present after acknowledgement", None))
    return steps


def _escalate(alarm: Alarm, now: float, reason: str) -> list[Step]:
    if alarm.escalated_at is not None or alarm.state not in (State.ALERTING, State.LATCHED):
        return []
    alarm.escalated_at = now
    return [Step(Action.ESCALATED, f"Escalated to secondary notification: {reason}", None)]


def _resolve(alarm: Alarm, ts: float, reason: str, user: str | None) -> Step:
    for c in alarm.conditions.values():
        c.end()
    alarm.state = State.RESOLVED
    alarm.resolved_at, alarm.resolved_by = ts, user
    alarm.silenced_until = alarm.silenced_priority = None
    return Step(Action.RESOLVED, reason, user)
