"""Queries behind the FHIR export: readings in force and nurses' observations in
time order after a cursor, and the people, monitors and sessions they name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from vitalwatch.auth.models import User
from vitalwatch.devices.models import Device, SessionDevice
from vitalwatch.readings.models import ManualReading, readings
from vitalwatch.readings.repository import not_struck
from vitalwatch.records.models import Observation
from vitalwatch.sessions.models import Session, SessionEvent

_VITAL_COLUMNS = ("hr", "sbp", "dbp", "map", "spo2", "rr")


def _in_force() -> ColumnElement[bool]:
    """The one place the export leaves struck (crossed-out typed-in) readings out:
    a struck value is never exported as a value."""
    return not_struck()


async def sessions_of(db: AsyncSession, patient_id: int) -> dict[int, Session]:
    rows = (await db.execute(select(Session).where(Session.patient_id == patient_id))).scalars()
    return {s.id: s for s in rows}


async def sessions_by_ids(db: AsyncSession, ids: Iterable[int]) -> dict[int, Session]:
    rows = (await db.execute(select(Session).where(Session.id.in_(list(ids))))).scalars()
    return {s.id: s for s in rows}


def _reading_filter(
    session_ids: list[int], columns: Sequence[str], lo: int | None, hi: int | None
) -> list[ColumnElement[bool]]:
    c = readings.c
    where: list[ColumnElement[bool]] = [c.session_id.in_(session_ids), _in_force()]
    if columns:
        where.append(or_(*(c[col].is_not(None) for col in columns)))
    if lo is not None:
        where.append(c.ts_ms >= lo)
    if hi is not None:
        where.append(c.ts_ms <= hi)
    return where


def _reading_select() -> Select[Any]:
    """A reading's values with who typed it in (None: a monitor measured it)."""
    c, m = readings.c, aliased(ManualReading)  # an alias: _in_force() has its own
    return select(
        c.id,
        c.session_id,
        c.device_id,
        c.ts_ms,
        *(c[col] for col in _VITAL_COLUMNS),
        m.entered_by,
        m.entered_by_name,
    ).outerjoin(m, and_(m.device_id == c.device_id, m.seq == c.seq))


async def readings_after(
    db: AsyncSession,
    session_ids: list[int],
    columns: Sequence[str],
    lo: int | None,
    hi: int | None,
    after: tuple[int, int],
    limit: int,
) -> list[RowMapping]:
    """Readings in force at or after (ts_ms, id), in that order (the time bound
    spelled out so the session-and-time index serves it)."""
    c = readings.c
    ts, row_id = after
    stmt = _reading_select().where(
        *_reading_filter(session_ids, columns, lo, hi),
        c.ts_ms >= ts,
        or_(c.ts_ms > ts, c.id >= row_id),
    )
    return list((await db.execute(stmt.order_by(c.ts_ms, c.id).limit(limit))).mappings().all())


async def reading(db: AsyncSession, reading_id: int) -> RowMapping | None:
    stmt = _reading_select().where(readings.c.id == reading_id, _in_force())
    row: RowMapping | None = (await db.execute(stmt)).mappings().first()
    return row


async def count_values(
    db: AsyncSession, session_ids: list[int], columns: Sequence[str], lo: int | None, hi: int | None
) -> dict[str, int]:
    c = readings.c
    stmt = select(*(func.count(c[m]) for m in _VITAL_COLUMNS)).where(
        *_reading_filter(session_ids, columns, lo, hi)
    )
    row = (await db.execute(stmt)).one()
    return dict(zip(_VITAL_COLUMNS, (int(v) for v in row), strict=True))


def _obs_filter(
    session_ids: list[int], columns: Sequence[str], lo: datetime | None, hi: datetime | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Observation.session_id.in_(session_ids)]
    where.append(or_(*(getattr(Observation, col).is_not(None) for col in columns)))
    if lo is not None:
        where.append(Observation.ts >= lo)
    if hi is not None:
        where.append(Observation.ts <= hi)
    return where


async def observations_after(
    db: AsyncSession,
    session_ids: list[int],
    columns: Sequence[str],
    lo: datetime | None,
    hi: datetime | None,
    since: datetime,
    limit: int,
) -> Sequence[Observation]:
    """Nurses' observations at or after `since`, in time order."""
    o = Observation
    stmt = select(o).where(*_obs_filter(session_ids, columns, lo, hi), o.ts >= since)
    return (await db.execute(stmt.order_by(o.ts, o.id).limit(limit))).scalars().all()


async def observation(db: AsyncSession, observation_id: int) -> Observation | None:
    return await db.get(Observation, observation_id)


async def count_observations(
    db: AsyncSession,
    session_ids: list[int],
    columns: Sequence[str],
    lo: datetime | None,
    hi: datetime | None,
) -> int:
    if not columns:
        return 0
    counts = (
        await db.execute(
            select(*(func.count(getattr(Observation, col)) for col in columns)).where(
                *_obs_filter(session_ids, columns, lo, hi)
            )
        )
    ).one()
    return sum(int(v) for v in counts)


async def users_by_ids(db: AsyncSession, ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = (await db.execute(select(User).where(User.id.in_(wanted)))).scalars()
    return {u.id: u for u in rows}


async def users_by_names(db: AsyncSession, names: Iterable[str | None]) -> dict[str, User]:
    wanted = {n for n in names if n}
    if not wanted:
        return {}
    rows = (await db.execute(select(User).where(User.username.in_(wanted)))).scalars()
    return {u.username: u for u in rows}


async def user(db: AsyncSession, user_id: int) -> User | None:
    return await db.get(User, user_id)


async def devices_of(db: AsyncSession, session_ids: Iterable[int]) -> dict[int, list[int]]:
    """The monitors that fed each session (never the source of typed-in vitals)."""
    stmt = (
        select(SessionDevice.session_id, SessionDevice.device_id)
        .join(Device, Device.id == SessionDevice.device_id)
        .where(SessionDevice.session_id.in_(list(session_ids)), Device.kind == "monitor")
        .order_by(SessionDevice.bound_at, SessionDevice.device_id)
    )
    out: dict[int, list[int]] = {}
    for sid, did in await db.execute(stmt):
        out.setdefault(int(sid), []).append(int(did))
    return out


async def dose(db: AsyncSession, event_id: int) -> SessionEvent | None:
    stmt = select(SessionEvent).where(SessionEvent.id == event_id, SessionEvent.kind == "dose")
    return (await db.execute(stmt)).scalar_one_or_none()
