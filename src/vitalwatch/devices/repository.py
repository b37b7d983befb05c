"""Queries on devices and their session binding."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vitalwatch.devices.models import Device


async def add(db: AsyncSession, device: Device) -> Device:
    db.add(device)
    await db.flush()
    return device


async def list_all(db: AsyncSession, include_retired: bool = False) -> Sequence[Device]:
    """Registered monitors (never the per-session sources of typed-in vitals)."""
    stmt = select(Device).where(Device.kind == "monitor").order_by(Device.id)
    if not include_retired:
        stmt = stmt.where(Device.retired.is_(False))
    return (await db.execute(stmt)).scalars().all()


async def by_id(db: AsyncSession, device_id: int) -> Device | None:
    return await db.get(Device, device_id)


async def by_ids(db: AsyncSession, ids: Iterable[int]) -> Sequence[Device]:
    return (await db.execute(select(Device).where(Device.id.in_(list(ids))))).scalars().all()


async def by_token_hash(db: AsyncSession, token_hash: str) -> Device | None:
    stmt = select(Device).where(Device.token_hash == token_hash, Device.retired.is_(False))
    return (await db.execute(stmt)).scalar_one_or_none()


async def bind(db: AsyncSession, device_id: int, session_id: int) -> bool:
    """Bind a free device; False when it is already bound (atomic on every backend)."""
    result = await db.execute(
        update(Device)
        .where(Device.id == device_id, Device.session_id.is_(None))
        .values(session_id=session_id)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def unbind_session(db: AsyncSession, session_id: int) -> None:
    await db.execute(update(Device).where(Device.session_id == session_id).values(session_id=None))


async def set_last_seen(db: AsyncSession, seen: dict[int, datetime]) -> None:
    """One executemany for every device: on SQLite the write lock is held for one
    statement, not one per device (a per-device loop stalled ingest for ~1 s at
    1,000 devices)."""
    if not seen:
        return
    table = cast(Table, Device.__table__)
    c = table.c
    stmt = (
        update(table)
        .where(c.id == bindparam("b_id"))
        .where(c.last_seen.is_(None) | (c.last_seen < bindparam("b_ts", type_=c.last_seen.type)))
        .values(last_seen=bindparam("b_ts", type_=c.last_seen.type))
    )
    conn = await db.connection()
    await conn.execute(stmt, [{"b_id": d, "b_ts": ts} for d, ts in seen.items()])


async def note_counter_reset(conn: AsyncConnection, device_id: int) -> None:
    """A monitor restarted its sample counter (in the ingest transaction)."""
    await conn.execute(
        update(Device)
        .where(Device.id == device_id)
        .values(counter_resets=Device.counter_resets + 1, counter_reset_at=datetime.now(UTC))
    )


async def sessions_of_devices(conn: AsyncConnection, device_ids: set[int]) -> dict[int, int | None]:
    """Each device's active session (None: unbound), read in the ingest transaction."""
    rows = await conn.execute(select(Device.id, Device.session_id).where(Device.id.in_(device_ids)))
    return {int(d): (int(s) if s is not None else None) for d, s in rows}


async def session_of(db: AsyncSession, device_id: int) -> int | None:
    """A device's active session (None: unbound or unknown)."""
    return await db.scalar(select(Device.session_id).where(Device.id == device_id))
