"""The one mapping between the engine's alarms, their rows and the API.

An alarm is an `AlarmView` in the engine, a row in `alarms` (its conditions
as JSON), and an `AlarmOut` on the wire. `columns` writes a view as a row,
`view_of` reads it back (restart), `out` shows either; nothing else maps.
`AlarmStore.write` stores one evaluation's transitions: one row write and one
live event per alarm, one log row per transition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from vitalwatch.alarms import repository
from vitalwatch.alarms.engine import LOGGED, SIGNIFICANCE, AlarmView, ConditionView, Transition
from vitalwatch.alarms.engine.model import STATION, State
from vitalwatch.alarms.models import Alarm
from vitalwatch.alarms.ports import EventLog
from vitalwatch.alarms.schemas import AlarmOut, ConditionOut, DeliveryOut
from vitalwatch.logging import get_logger
from vitalwatch.metrics import ALARM_TRANSITIONS

log = get_logger(__name__)


def dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)


def epoch(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def _condition_json(c: ConditionView) -> dict[str, Any]:
    return {
        "rule": c.rule,
        "metric": c.metric,
        "priority": c.priority,
        "active": c.active,
        "value": c.value,
        "limit": c.limit,
        "baseline": c.baseline,
        "since": c.since,
        "worst": c.worst,
        "worst_at": c.worst_at,
    }


def columns(view: AlarmView) -> dict[str, Any]:
    """Everything the evaluating process writes of an alarm."""
    return {
        "session_id": None if view.session_id == STATION else view.session_id,
        "device_id": view.device_id,
        "kind": view.kind,
        "metric": view.metric,
        "rule": view.rule,
        "priority": view.priority,
        "state": view.state.public,
        "condition_active": view.condition_active,
        "value": view.value,
        "threshold": view.threshold,
        "worst_value": view.worst_value,
        "worst_at": dt(view.worst_at),
        "conditions": [_condition_json(c) for c in view.conditions],
        "message": view.message,
        "raised_at": dt(view.raised_at),
        "alerted_at": dt(view.alerted_at),
        "acked_at": dt(view.acked_at),
        "acked_by": view.acked_by,
        "silenced_until": dt(view.silenced_until),
        "escalated_at": dt(view.escalated_at),
        "resolved_at": dt(view.resolved_at),
        "resolved_by": view.resolved_by,
        "first_delivered_at": dt(view.first_delivered_at),
        "dashboards": view.dashboards,
        "first_seen_at": dt(view.first_seen_at),
        "updated_at": datetime.now(UTC),
    }


def out(row: Any) -> AlarmOut:
    """An alarm on the wire, from its row (ORM object or the columns written)."""
    r: Mapping[str, Any] = row if isinstance(row, Mapping) else _as_mapping(row)
    return AlarmOut(
        id=r["id"],
        session_id=r["session_id"],
        kind=r["kind"],
        metric=r["metric"],
        rule=r["rule"],
        priority=r["priority"],
        state=r["state"],
        condition_active=r["condition_active"],
        value=r["value"],
        threshold=r["threshold"],
        worst_value=r["worst_value"],
        worst_at=r["worst_at"],
        conditions=[
            ConditionOut(**{**c, "since": dt(c["since"]), "worst_at": dt(c["worst_at"])})
            for c in r["conditions"] or []
        ],
        message=r["message"],
        raised_at=r["raised_at"],
        alerted_at=r["alerted_at"],
        acked_at=r["acked_at"],
        acked_by=r["acked_by"],
        silenced_until=r["silenced_until"],
        resolved_at=r["resolved_at"],
        resolved_by=r["resolved_by"],
        device_id=r["device_id"],
        escalated_at=r["escalated_at"],
        delivery=DeliveryOut(
            first_delivered_at=r["first_delivered_at"],
            dashboards=r["dashboards"] or 0,
            first_seen_at=r["first_seen_at"],
        ),
    )


def _as_mapping(row: Any) -> dict[str, Any]:
    return {c: getattr(row, c) for c in _COLUMNS}


_COLUMNS = tuple(c.name for c in Alarm.__table__.columns)


def view_of(row: Any) -> AlarmView:
    """A stored open alarm as the engine restores it."""
    state = {"active": State.ALERTING, "acknowledged": State.ACKNOWLEDGED}[row.state]
    if state is State.ALERTING and not row.condition_active:
        state = State.LATCHED
    raised = epoch(row.raised_at) or 0.0
    return AlarmView(
        session_id=STATION if row.session_id is None else row.session_id,
        rule=row.rule,
        kind=row.kind,
        metric=row.metric,
        priority=row.priority,
        state=state,
        condition_active=row.condition_active,
        value=row.value,
        threshold=row.threshold,
        worst_value=row.worst_value,
        worst_at=epoch(row.worst_at),
        message=row.message,
        raised_at=raised,
        alerted_at=epoch(row.alerted_at) or raised,
        conditions=tuple(ConditionView(**c) for c in row.conditions or []),
        acked_at=epoch(row.acked_at),
        acked_by=row.acked_by,
        silenced_until=epoch(row.silenced_until),
        escalated_at=epoch(row.escalated_at),
        device_id=row.device_id,
        first_delivered_at=epoch(row.first_delivered_at),
        dashboards=row.dashboards or 0,
        first_seen_at=epoch(row.first_seen_at),
        id=row.id,
    )


#: (event id, payload) of a live event to publish once the transaction commits
Event = tuple[int, dict[str, Any]]
#: (alarm as shown, its transitions in this evaluation), for secondary notification
Change = tuple[AlarmOut, list[Transition]]


class AlarmStore:
    """Writes transitions: alarm rows, the alarm log and live events."""

    def __init__(self, events: EventLog) -> None:
        self._events = events

    async def write(
        self, conn: AsyncConnection, transitions: Sequence[Transition]
    ) -> tuple[list[Event], list[Change], dict[int, int]]:
        """Store one evaluation's transitions. Returns the events to publish,
        each changed alarm with its actions, and the new rows' ids by engine uid."""
        events: list[Event] = []
        changes: list[Change] = []
        new_ids: dict[int, int] = {}
        log_rows: list[dict[str, Any]] = []
        now = datetime.now(UTC)
        by_alarm: dict[int, list[Transition]] = {}
        for t in transitions:  # one row write and one live event per alarm
            by_alarm.setdefault(t.view.uid, []).append(t)
        for uid, ts in by_alarm.items():
            view = ts[-1].view
            values = columns(view)
            alarm_id = view.id or new_ids.get(uid)
            if alarm_id is None:
                alarm_id = await repository.insert_alarm(conn, values)
                new_ids[uid] = alarm_id
            else:
                await repository.update_alarm(conn, alarm_id, values)
            for t in ts:
                ALARM_TRANSITIONS.labels(t.action.value, view.priority).inc()
                if t.action in LOGGED:
                    log_rows.append(_log_row(alarm_id, t, now))
            shown = out({**values, "id": alarm_id})
            actions = [t.action.value for t in ts]
            top = max(ts, key=lambda t: SIGNIFICANCE[t.action]).action.value
            payload = {"alarm": shown.model_dump(mode="json"), "action": top, "actions": actions}
            events.append((await self._events.record(conn, "alarm", payload), payload))
            changes.append((shown, ts))
            log.info(
                "alarm_transition",
                session_id=view.session_id,
                alarm_id=alarm_id,
                rule=view.rule,
                action=top,
                priority=view.priority,
            )
        await repository.insert_log(conn, log_rows)
        return events, changes, new_ids


def _log_row(alarm_id: int, t: Transition, now: datetime) -> dict[str, Any]:
    return {
        "alarm_id": alarm_id,
        "ts": dt(t.ts),
        "action": t.action.value,
        "condition": t.condition,
        "priority": t.priority or t.view.priority,
        "value": t.value,
        "threshold": t.threshold,
        "message": t.message,
        "user": t.user,
        "created_at": now,
    }
