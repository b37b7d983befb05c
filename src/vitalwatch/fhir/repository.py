"""Queries behind the FHIR search: readings and nurses' observations after a cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.readings.models import readings
from vitalwatch.readings.repository import in_force, not_struck
from vitalwatch.records.models import Observation
from vitalwatch.sessions.models import Session

_VITAL_COLUMNS = ("hr", "sbp", "dbp", "map", "spo2", "rr")


async def sessions_of(db: AsyncSession, patient_id: int) -> dict[int, Session]:
    rows = (await db.execute(select(Session).where(Session.patient_id == patient_id))).scalars()
    return {s.id: s for s in rows}


def _reading_filter(
    session_ids: list[int], columns: Sequence[str], lo: int | None, hi: int | None
) -> list[ColumnElement[bool]]:
    c = readings.c
    where: list[ColumnElement[bool]] = in_force(session_ids)
    if columns:
        where.append(or_(*(c[col].is_not(None) for col in columns)))
    if lo is not None:
        where.append(c.ts_ms >= lo)
    if hi is not None:
        where.append(c.ts_ms <= hi)
    return where


async def readings_after(
    db: AsyncSession,
    session_ids: list[int],
    columns: Sequence[str],
    lo: int | None,
    hi: int | None,
    after: tuple[int, int] | None,
    limit: int,
) -> list[dict[str, Any]]:
    c = readings.c
    stmt = select(c.id, c.session_id, c.ts_ms, *(c[m] for m in _VITAL_COLUMNS)).where(
        *_reading_filter(session_ids, columns, lo, hi)
    )
    if after is not None:
        stmt = stmt.where(tuple_(c.ts_ms, c.id) >= tuple_(*after))
    rows = (await db.execute(stmt.order_by(c.ts_ms, c.id).limit(limit))).mappings().all()
    return [dict(r) for r in rows]


async def reading(db: AsyncSession, reading_id: int) -> dict[str, Any] | None:
    c = readings.c
    row = (
        (
            await db.execute(
                select(c.id, c.session_id, c.ts_ms, *(c[m] for m in _VITAL_COLUMNS)).where(
                    c.id == reading_id, not_struck()
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def count_values(
    db: AsyncSession, session_ids: list[int], columns: Sequence[str], lo: int | None, hi: int | None
) -> dict[str, int]:
    c = readings.c
    row = (
        await db.execute(
            select(*(func.count(c[m]) for m in _VITAL_COLUMNS)).where(
                *_reading_filter(session_ids, columns, lo, hi)
            )
        )
    ).one()
    return dict(zip(_VITAL_COLUMNS, (int(v) for v in row), strict=True))


def _obs_filter(
    session_ids: list[int], columns: Sequence[str], lo: Any, hi: Any
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
    lo: Any,
    hi: Any,
    after: int | None,
    limit: int,
) -> Sequence[Observation]:
    stmt = select(Observation).where(*_obs_filter(session_ids, columns, lo, hi))
    if after is not None:
        stmt = stmt.where(Observation.id >= after)
    return (await db.execute(stmt.order_by(Observation.id).limit(limit))).scalars().all()


async def count_observations(
    db: AsyncSession, session_ids: list[int], columns: Sequence[str], lo: Any, hi: Any
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
