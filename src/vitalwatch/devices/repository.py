"""Queries on devices, their session bindings (now and past) and their HL7 identifiers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vitalwatch.devices.models import Device, DeviceHl7Id, SessionDevice


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


# -- binding history: which devices fed a session, and when --


async def add_binding(db: AsyncSession, session_id: int, device_id: int) -> None:
    db.add(SessionDevice(session_id=session_id, device_id=device_id))


async def close_bindings(db: AsyncSession, session_id: int, at: datetime) -> None:
    await db.execute(
        update(SessionDevice)
        .where(SessionDevice.session_id == session_id, SessionDevice.unbound_at.is_(None))
        .values(unbound_at=at)
    )


async def binding_starts(
    conn: AsyncConnection, pairs: list[tuple[int, int]]
) -> list[tuple[int, int, datetime]]:
    """(device, session, bound_at) of the given device/session bindings."""
    found = await conn.execute(
        select(SessionDevice.device_id, SessionDevice.session_id, SessionDevice.bound_at)
        .where(SessionDevice.device_id.in_([d for d, _ in pairs]))
        .where(SessionDevice.session_id.in_([s for _, s in pairs]))
    )
    return [(int(d), int(s), at) for d, s, at in found]


async def bindings_of_device(conn: AsyncConnection, device_id: int) -> list[tuple[int, datetime]]:
    """(session, bound_at) of every binding a device ever had, oldest first."""
    rows = await conn.execute(
        select(SessionDevice.session_id, SessionDevice.bound_at)
        .where(SessionDevice.device_id == device_id)
        .order_by(SessionDevice.bound_at)
    )
    return [(int(s), at) for s, at in rows]


# -- HL7 identifiers: the names HL7 messages give their sender --


def norm(identifier: str) -> str:
    return identifier.strip().casefold()


async def device_for(db: AsyncSession, identifiers: Sequence[str]) -> Device | None:
    """The registered, not retired device named by the first identifier that matches."""
    keys = [norm(i) for i in identifiers]
    if not keys:
        return None
    rows = (
        await db.execute(
            select(DeviceHl7Id.identifier, Device)
            .join(Device, Device.id == DeviceHl7Id.device_id)
            .where(DeviceHl7Id.identifier.in_(keys), Device.retired.is_(False))
        )
    ).all()
    found = {ident: device for ident, device in rows}
    return next((found[k] for k in keys if k in found), None)


async def ids_of(db: AsyncSession, device_ids: Iterable[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    rows = await db.execute(
        select(DeviceHl7Id.device_id, DeviceHl7Id.display)
        .where(DeviceHl7Id.device_id.in_(list(device_ids)))
        .order_by(DeviceHl7Id.created_at, DeviceHl7Id.identifier)
    )
    for device_id, display in rows:
        out.setdefault(int(device_id), []).append(display)
    return out


async def owners(db: AsyncSession, identifiers: Iterable[str]) -> dict[str, int]:
    """Which device holds each of these identifiers already (casefolded keys)."""
    keys = [norm(i) for i in identifiers]
    rows = await db.execute(
        select(DeviceHl7Id.identifier, DeviceHl7Id.device_id).where(
            DeviceHl7Id.identifier.in_(keys)
        )
    )
    return {ident: int(device_id) for ident, device_id in rows}


async def set_ids(db: AsyncSession, device_id: int, identifiers: Sequence[str]) -> None:
    """Replace a device's identifiers (the caller checked that none is taken; the
    HL7 domain forgets them as unassigned senders)."""
    await db.execute(delete(DeviceHl7Id).where(DeviceHl7Id.device_id == device_id))
    await db.flush()
    for ident in dict.fromkeys(i.strip() for i in identifiers):
        db.add(DeviceHl7Id(identifier=norm(ident), display=ident, device_id=device_id))
    await db.flush()
