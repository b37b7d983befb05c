"""The board: every open alarm, by session and problem, and the one way each
changes (through `lifecycle.apply`) and is reported (as transitions)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Final

from vitalwatch.alarms.engine.lifecycle import (
    Alarm,
    Condition,
    ConditionsChanged,
    Input,
    Step,
    apply,
)
from vitalwatch.alarms.engine.messages import condition_note
from vitalwatch.alarms.engine.model import RANK, Action, AlarmView, State, Transition, Wanted

#: Actions whose log row carries the alarm's own message.
_SAYS_WHAT: Final = frozenset(
    (Action.RAISED, Action.UPDATED, Action.PRIORITY_RAISED, Action.CONDITION_RETURNED)
)


class Board:
    """Open alarms: at most one per session and problem."""

    def __init__(self) -> None:
        self._alarms: dict[int, dict[str, Alarm]] = {}  # session -> problem -> open alarm
        self._by_id: dict[int, Alarm] = {}  # open alarms by the store's key
        self._uids = itertools.count(1)  # tells apart alarms of one problem over time

    def get(self, session_id: int, rule: str) -> Alarm | None:
        return self._alarms.get(session_id, {}).get(rule)

    def of_session(self, session_id: int) -> list[Alarm]:
        return list(self._alarms.get(session_id, {}).values())

    def sessions(self) -> Iterator[tuple[int, list[Alarm]]]:
        for sid, alarms in list(self._alarms.items()):
            if alarms:
                yield sid, list(alarms.values())

    def __bool__(self) -> bool:
        return any(self._alarms.values())

    def drop_session(self, session_id: int) -> None:
        self._alarms.pop(session_id, None)

    def new(
        self, sid: int, rule: str, kind: str, ts: float, clock: float, device: int | None = None
    ) -> Alarm:
        return Alarm(
            sid, rule, kind, raised_at=ts, alerted_at=clock, device_id=device, uid=next(self._uids)
        )

    def raise_(self, alarm: Alarm, priority: str | None) -> list[Step]:
        alarm.priority = priority or "low"
        alarm.latched_high = alarm.kind == "physiological" and priority == "high"
        self._alarms.setdefault(alarm.session_id, {})[alarm.rule] = alarm
        return [Step(Action.RAISED, "Raised", None)]

    def set_problem(
        self,
        sid: int,
        rule: str,
        kind: str,
        wanted: Wanted,
        ts: float,
        clock: float,
        message: str,
        device: int | None = None,
        value: float | None = None,
        worse_high: bool = True,
    ) -> list[Transition]:
        """Make an alarm's conditions what a rule says holds now (raise, change, clear)."""
        alarm = self._alarms.get(sid, {}).get(rule)
        holding = (
            {}
            if alarm is None
            else {r: c.priority for r, c in alarm.conditions.items() if c.priority is not None}
        )
        if holding == {r: p for r, (p, _) in wanted.items()}:
            return []
        new = alarm is None
        if alarm is None:
            alarm = self.new(sid, rule, kind, ts, clock, device)
        steps: list[Step] = []
        for r, (priority, metric) in wanted.items():
            cond = alarm.conditions.setdefault(r, Condition(r, metric, high=worse_high))
            if cond.priority != priority:
                cond.meet(priority, value, None, ts, ts)
                note = condition_note(cond, priority)
                steps.append(Step(Action.CONDITION_MET, note, None, r, priority, value))
        for r, cond in alarm.conditions.items():
            if cond.priority is not None and r not in wanted:
                cond.end()
                note = condition_note(cond, None)
                steps.append(Step(Action.CONDITION_ENDED, note, None, r, cond.peak, cond.value))
        if wanted:
            alarm.message = message
        lifecycle = (
            self.raise_(alarm, max((p for p, _ in wanted.values()), key=RANK.__getitem__))
            if new
            else apply(alarm, ConditionsChanged(ts, clock))
        )
        if len(steps) == 1 and lifecycle:  # one condition: its raise or resolve says it all
            steps = []
        return self.emit(alarm, [*steps, *lifecycle], ts)

    def input(self, session_id: int, rule: str, event: Input, ts: float) -> list[Transition]:
        alarm = self.get(session_id, rule)
        if alarm is None:
            return []
        return self.emit(alarm, apply(alarm, event), ts)

    def emit(self, alarm: Alarm, steps: Iterable[Step], ts: float) -> list[Transition]:
        """Transitions of one alarm, each carrying the alarm as it is now."""
        steps = list(steps)
        if not steps:
            return []
        if alarm.state is State.RESOLVED:
            self._alarms.get(alarm.session_id, {}).pop(alarm.rule, None)
            if alarm.id is not None:
                self._by_id.pop(alarm.id, None)
        view = alarm.view()
        return [
            Transition(
                action=s.action,
                ts=ts,
                message=alarm.message if s.action in _SAYS_WHAT else s.note,
                view=view,
                user=s.user,
                condition=s.condition,
                priority=s.priority or view.priority,
                value=s.value if s.condition else view.value,
                threshold=s.limit if s.condition else view.threshold,
            )
            for s in steps
        ]

    def views(self, session_id: int | None = None) -> list[AlarmView]:
        return [
            a.view()
            for sid, alarms in self._alarms.items()
            if session_id is None or sid == session_id
            for a in alarms.values()
        ]

    def set_id(self, session_id: int, rule: str, alarm_id: int) -> None:
        """The store's key of an open alarm, once stored."""
        alarm = self._alarms.get(session_id, {}).get(rule)
        if alarm is not None and alarm.id is None:
            alarm.id = alarm_id
            self._by_id[alarm_id] = alarm

    def delivered(
        self, alarm_id: int, dashboard: str, at: float, visible: bool, sound: bool
    ) -> bool:
        """A dashboard confirmed it showed an open alarm; True if it is one of ours."""
        alarm = self._by_id.get(alarm_id)
        if alarm is None:
            return False
        alarm.delivered(dashboard, at, visible and sound)
        return True

    def view_of(self, alarm_id: int) -> AlarmView | None:
        alarm = self._by_id.get(alarm_id)
        return None if alarm is None else alarm.view()

    def clear(self) -> None:
        self._alarms.clear()
        self._by_id.clear()

    def restore(self, view: AlarmView) -> Alarm:
        """An open alarm from storage, as it was."""
        alarm = Alarm(
            view.session_id,
            view.rule,
            view.kind,
            raised_at=view.raised_at,
            alerted_at=view.alerted_at,
            device_id=view.device_id,
            state=view.state,
            priority=view.priority,
            message=view.message,
            acked_at=view.acked_at,
            acked_by=view.acked_by,
            acked_priority=view.priority if view.state is State.ACKNOWLEDGED else None,
            silenced_until=view.silenced_until,
            silenced_priority=view.priority if view.silenced_until is not None else None,
            escalated_at=view.escalated_at,
            last_reminder=view.acked_at,
            uid=next(self._uids),
            latched_high=view.kind == "physiological"
            and view.priority == "high"
            and view.state is not State.ACKNOWLEDGED,
            id=view.id,
        )
        for c in view.conditions:
            alarm.conditions[c.rule] = Condition(
                c.rule,
                c.metric,
                high=not c.rule.endswith("_low"),
                priority=c.priority if c.active else None,
                peak=c.priority,
                value=c.value,
                limit=c.limit,
                baseline=c.baseline,
                since=c.since,
                worst=c.worst,
                worst_at=c.worst_at,
            )
        self._alarms.setdefault(view.session_id, {})[view.rule] = alarm
        if view.id is not None:
            self._by_id[view.id] = alarm
        return alarm
