"""Queries on patients."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.db import utcnow
from vitalwatch.patients.models import Patient


async def _one(db: AsyncSession, where: ColumnElement[bool], for_update: bool) -> Patient | None:
    """One patient; `for_update` locks it for the transaction: a row lock on
    PostgreSQL, and on SQLite a no-op write, which takes the database's write
    lock (SQLite has no row locks), so concurrent starts run one after the other."""
    stmt = select(Patient).where(where)
    if for_update:
        conn = await db.connection()
        if conn.dialect.name == "sqlite":
            await conn.execute(update(Patient).where(where).values(id=Patient.id))
        stmt = stmt.with_for_update()
    return (await db.execute(stmt)).scalar_one_or_none()


async def get(db: AsyncSession, patient_id: int, *, for_update: bool = False) -> Patient | None:
    return await _one(db, Patient.id == patient_id, for_update)


async def by_ref(db: AsyncSession, ref: str, *, for_update: bool = False) -> Patient | None:
    return await _one(db, Patient.ref == ref, for_update)


async def by_ids(db: AsyncSession, ids: Iterable[int]) -> dict[int, Patient]:
    rows = (await db.execute(select(Patient).where(Patient.id.in_(list(ids))))).scalars()
    return {p.id: p for p in rows}


async def insert_if_absent(
    db: AsyncSession, ref: str, display_name: str | None, birth: date | None, sex: str | None
) -> bool:
    """Create the patient unless the reference exists; True when this call created it.

    INSERT ... ON CONFLICT DO NOTHING: two simultaneous session starts for a
    new patient (a double click) cannot collide on the unique reference (no
    IntegrityError, whose traceback would carry the reference and name).
    """
    conn = await db.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Patient)
        .values(
            ref=ref, display_name=display_name, date_of_birth=birth, sex=sex, created_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["ref"])
        .returning(Patient.id)
    )
    return (await conn.execute(stmt)).first() is not None


async def search(db: AsyncSession, q: str | None, limit: int) -> Sequence[Patient]:
    stmt = select(Patient).order_by(Patient.ref).limit(limit)
    if q:
        needle = q.strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(Patient.ref).contains(needle, autoescape=True),
                func.lower(Patient.display_name).contains(needle, autoescape=True),
            )
        )
    return (await db.execute(stmt)).scalars().all()
