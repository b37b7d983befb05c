"""Queries on alarms and the alarm log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vitalwatch.alarms.models import Alarm, AlarmLogEntry, AlarmReceipt, DashboardSeen
from vitalwatch.sessions.models import Session

OPEN_STATES = ("active", "acknowledged")


async def open_for_sessions(db: AsyncSession, session_ids: Iterable[int]) -> Sequence[Alarm]:
    stmt = (
        select(Alarm)
        .where(Alarm.session_id.in_(list(session_ids)), Alarm.state.in_(OPEN_STATES))
        .order_by(Alarm.raised_at.desc(), Alarm.id.desc())
    )
    return (await db.execute(stmt)).scalars().all()


async def open_station(db: AsyncSession) -> Sequence[Alarm]:
    stmt = select(Alarm).where(Alarm.session_id.is_(None), Alarm.state.in_(OPEN_STATES))
    return (await db.execute(stmt.order_by(Alarm.id))).scalars().all()


async def all_open(db: AsyncSession) -> Sequence[Alarm]:
    stmt = select(Alarm).where(Alarm.state.in_(OPEN_STATES)).order_by(Alarm.id)
    return (await db.execute(stmt)).scalars().all()


async def search(
    db: AsyncSession, state: str | None, session_id: int | None, limit: int
) -> Sequence[Alarm]:
    stmt = select(Alarm).order_by(Alarm.raised_at.desc(), Alarm.id.desc()).limit(limit)
    if state is not None:
        stmt = stmt.where(Alarm.state == state)
    if session_id is not None:
        stmt = stmt.where(Alarm.session_id == session_id)
    return (await db.execute(stmt)).scalars().all()


async def ids_of_session(db: AsyncSession, session_id: int) -> frozenset[int]:
    return frozenset(await db.scalars(select(Alarm.id).where(Alarm.session_id == session_id)))


async def get(db: AsyncSession, alarm_id: int) -> Alarm | None:
    return await db.get(Alarm, alarm_id)


async def log_of(db: AsyncSession, alarm_id: int) -> Sequence[AlarmLogEntry]:
    stmt = (
        select(AlarmLogEntry).where(AlarmLogEntry.alarm_id == alarm_id).order_by(AlarmLogEntry.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def insert_alarm(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(Alarm).values(**values).returning(Alarm.id))
    return int(result.scalar_one())


async def update_alarm(conn: AsyncConnection, alarm_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(Alarm).where(Alarm.id == alarm_id).values(**values))


async def insert_log(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(AlarmLogEntry), rows)


async def insert_receipts(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(AlarmReceipt), rows)


async def receipts_after(conn: AsyncConnection, after_id: int, limit: int) -> Sequence[Any]:
    """Dashboards' confirmations newer than `after_id`, oldest first."""
    stmt = (
        select(
            AlarmReceipt.id,
            AlarmReceipt.alarm_id,
            AlarmReceipt.dashboard,
            AlarmReceipt.visible,
            AlarmReceipt.sound,
            AlarmReceipt.received_at,
        )
        .where(AlarmReceipt.id > after_id)
        .order_by(AlarmReceipt.id)
        .limit(limit)
    )
    return (await conn.execute(stmt)).all()


async def last_receipt_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.max(AlarmReceipt.id)))).scalar() or 0)


async def receipts_of(conn: AsyncConnection, alarm_ids: list[int]) -> Sequence[Any]:
    """Every confirmation of the given alarms (a restart rebuilds their delivery)."""
    if not alarm_ids:
        return []
    stmt = select(
        AlarmReceipt.alarm_id,
        AlarmReceipt.dashboard,
        AlarmReceipt.visible,
        AlarmReceipt.sound,
        AlarmReceipt.received_at,
    ).where(AlarmReceipt.alarm_id.in_(alarm_ids))
    return (await conn.execute(stmt)).all()


async def update_delivery(conn: AsyncConnection, alarm_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(Alarm).where(Alarm.id == alarm_id).values(**values))


async def replace_dashboards(
    conn: AsyncConnection, rows: list[dict[str, Any]], gone: list[str]
) -> None:
    """Dashboards' latest status (one row each), and those that disconnected."""
    ids = [r["id"] for r in rows] + gone
    if ids:
        await conn.execute(delete(DashboardSeen).where(DashboardSeen.id.in_(ids)))
    if rows:
        await conn.execute(insert(DashboardSeen), rows)


async def watching(conn: AsyncConnection, since: datetime) -> tuple[int, bool]:
    """Dashboards able to alert a nurse (visible, sound on, heard since `since`),
    and whether any session is active."""
    count = (
        await conn.execute(
            select(func.count())
            .select_from(DashboardSeen)
            .where(DashboardSeen.visible, DashboardSeen.sound, DashboardSeen.seen_at >= since)
        )
    ).scalar_one()
    active = (
        await conn.execute(select(Session.id).where(Session.status == "active").limit(1))
    ).first()
    return int(count), active is not None


# -- reads for the session record (records/): one place to adapt to the alarm model --


async def recent_for_sessions(
    db: AsyncSession, session_ids: Iterable[int], since: datetime
) -> Sequence[Alarm]:
    """Alarms of the sessions open now or resolved at or after `since` (readiness:
    "no alarm for the last N minutes")."""
    stmt = select(Alarm).where(
        Alarm.session_id.in_(list(session_ids)),
        Alarm.state.in_(OPEN_STATES) | (Alarm.resolved_at >= since),
    )
    return (await db.execute(stmt)).scalars().all()


async def of_session_with_log(
    db: AsyncSession, session_id: int
) -> list[tuple[Alarm, list[AlarmLogEntry]]]:
    """Every alarm of a session in the order raised, each with its log (the report)."""
    alarms = (
        (
            await db.execute(
                select(Alarm)
                .where(Alarm.session_id == session_id)
                .order_by(Alarm.raised_at, Alarm.id)
            )
        )
        .scalars()
        .all()
    )
    logs: dict[int, list[AlarmLogEntry]] = {a.id: [] for a in alarms}
    if alarms:
        stmt = (
            select(AlarmLogEntry)
            .where(AlarmLogEntry.alarm_id.in_(list(logs)))
            .order_by(AlarmLogEntry.id)
        )
        for entry in (await db.execute(stmt)).scalars():
            logs[entry.alarm_id].append(entry)
    return [(a, logs[a.id]) for a in alarms]


async def counts_by_session(
    db: AsyncSession, session_ids: Iterable[int]
) -> dict[int, dict[str, int]]:
    """Per session, how many alarms of each priority were raised (the patient series)."""
    stmt = (
        select(Alarm.session_id, Alarm.priority, func.count())
        .where(Alarm.session_id.in_(list(session_ids)))
        .group_by(Alarm.session_id, Alarm.priority)
    )
    out: dict[int, dict[str, int]] = {}
    for sid, priority, n in (await db.execute(stmt)).all():
        out.setdefault(int(sid or 0), {})[str(priority)] = int(n)
    return out
