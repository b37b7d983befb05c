"""Queries of the reports: portable SQL (SQLite and PostgreSQL), bounded reads.

Alarms are selected by `raised_at` (index `ix_alarms_raised_at`), their
acknowledgements, silences and escalations summed per alarm in SQL from the
alarm log (index on `alarm_id`); limit changes by the audit log's `ts` index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.alarms.models import Alarm, AlarmLogEntry
from vitalwatch.audit.models import AuditEntry
from vitalwatch.db import UTCDateTime
from vitalwatch.sessions.models import Session

#: Log actions that say someone (or the escalation) acted on an alarm.
_ACTED = ("acknowledged", "silenced", "escalated")
_CONDITIONS_CHUNK = 5000


def _in_range(stmt: Any, start: datetime, end: datetime, protocol: str | None) -> Any:
    """Session alarms (not the station's own) raised in [start, end), of `protocol`."""
    stmt = stmt.join(Session, Session.id == Alarm.session_id).where(
        Alarm.raised_at >= start, Alarm.raised_at < end
    )
    return stmt if protocol is None else stmt.where(Session.protocol == protocol)


async def sessions_overlapping(
    db: AsyncSession, start: datetime, end: datetime, protocol: str | None
) -> Sequence[Any]:
    """Sessions monitored at some time in [start, end): id, protocol, started_at, ended_at."""
    stmt = select(Session.id, Session.protocol, Session.started_at, Session.ended_at).where(
        Session.started_at < end, or_(Session.ended_at.is_(None), Session.ended_at > start)
    )
    if protocol is not None:
        stmt = stmt.where(Session.protocol == protocol)
    return (await db.execute(stmt.order_by(Session.id))).all()


async def alarms_raised(
    db: AsyncSession, start: datetime, end: datetime, protocol: str | None, limit: int
) -> Sequence[Any]:
    """At most `limit` alarms raised in the range (the caller asks for one more
    than it accepts, to tell a range that is too large)."""
    stmt = select(
        Alarm.id,
        Alarm.rule,
        Alarm.state,
        Alarm.raised_at,
        Alarm.alerted_at,
        Alarm.resolved_at,
        Alarm.resolved_by,
        Session.protocol,
    )
    stmt = _in_range(stmt, start, end, protocol).order_by(Alarm.id).limit(limit)
    return (await db.execute(stmt)).all()


async def alarm_actions(
    db: AsyncSession, start: datetime, end: datetime, protocol: str | None
) -> Sequence[Any]:
    """Per alarm of the range: first acknowledgement, silences and escalations."""
    action = AlarmLogEntry.action
    first_ack = func.min(case((action == "acknowledged", AlarmLogEntry.ts)))
    stmt = select(
        AlarmLogEntry.alarm_id,
        type_coerce(first_ack, UTCDateTime()).label("first_ack"),
        func.sum(case((action == "silenced", 1), else_=0)).label("silenced"),
        func.sum(case((action == "escalated", 1), else_=0)).label("escalated"),
    ).join(Alarm, Alarm.id == AlarmLogEntry.alarm_id)
    stmt = _in_range(stmt, start, end, protocol).where(action.in_(_ACTED))
    return (await db.execute(stmt.group_by(AlarmLogEntry.alarm_id))).all()


async def alarm_conditions(
    db: AsyncSession, start: datetime, end: datetime, protocol: str | None
) -> dict[int, frozenset[str]]:
    """The conditions each alarm of the range had (every limit rule it met).

    Read from the alarm's own `conditions`, which keep every condition it met:
    the log's condition rows leave out a single-condition alarm's (its raise
    says it). Read in chunks and reduced to names, so a month's conditions
    never sit in memory as JSON."""
    out: dict[int, frozenset[str]] = {}
    after = 0
    while True:
        stmt = select(Alarm.id, Alarm.conditions).where(Alarm.id > after)
        stmt = _in_range(stmt, start, end, protocol).order_by(Alarm.id).limit(_CONDITIONS_CHUNK)
        rows = (await db.execute(stmt)).all()
        for alarm_id, conditions in rows:
            out[int(alarm_id)] = frozenset(str(c.get("rule")) for c in conditions or [])
        if len(rows) < _CONDITIONS_CHUNK:
            return out
        after = int(rows[-1][0])


async def threshold_changes(
    db: AsyncSession, start: datetime, end: datetime, protocol: str | None, limit: int
) -> Sequence[Any]:
    """Audit entries of limit changes in [start, end), newest first, at most `limit`."""
    stmt = (
        select(
            AuditEntry.ts,
            AuditEntry.actor_name,
            AuditEntry.entity_id,
            AuditEntry.detail,
            Session.room,
            Session.protocol,
        )
        .join(Session, Session.id == AuditEntry.entity_id)
        .where(
            AuditEntry.action == "session.thresholds",
            AuditEntry.entity == "session",
            AuditEntry.ts >= start,
            AuditEntry.ts < end,
        )
    )
    if protocol is not None:
        stmt = stmt.where(Session.protocol == protocol)
    stmt = stmt.order_by(AuditEntry.ts.desc(), AuditEntry.id.desc()).limit(limit)
    return (await db.execute(stmt)).all()
