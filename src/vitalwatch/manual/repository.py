"""Queries on typed-in readings."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.auth.security import device_token_hash
from vitalwatch.devices.models import Device
from vitalwatch.readings.models import ManualReading, readings
from vitalwatch.sessions.models import SessionEvent
from vitalwatch.vitals import METRICS


async def source_of(db: AsyncSession, session_id: int, room: str | None) -> Device:
    """The session's manual source (a device of kind "manual" bound to it), made on
    first use. It is not in the session's device list, so the engine never
    watches it for technical alarms (a nurse does not type every 60 s)."""
    device = (
        await db.execute(
            select(Device).where(Device.kind == "manual", Device.session_id == session_id)
        )
    ).scalar_one_or_none()
    if device is None:
        device = Device(
            name=f"Typed in ({room or f'session {session_id}'})"[:120],
            model="manual entry",
            kind="manual",
            # never used: a manual source posts nothing itself
            token_hash=device_token_hash(secrets.token_urlsafe(32)),
            session_id=session_id,
        )
        db.add(device)
        await db.flush()
    return device


async def get(db: AsyncSession, entry_id: int) -> ManualReading | None:
    return await db.get(ManualReading, entry_id, with_for_update=True)


async def of_session(db: AsyncSession, session_id: int) -> Sequence[ManualReading]:
    return (
        (
            await db.execute(
                select(ManualReading)
                .where(ManualReading.session_id == session_id)
                .order_by(ManualReading.ts_ms, ManualReading.id)
            )
        )
        .scalars()
        .all()
    )


async def recent_of(
    db: AsyncSession, session_ids: Sequence[int], per_session: int
) -> list[ManualReading]:
    """The newest `per_session` typed-in readings, not struck, of each session."""
    rows = (
        (
            await db.execute(
                select(ManualReading)
                .where(
                    ManualReading.session_id.in_(set(session_ids)),
                    ManualReading.struck_at.is_(None),
                )
                .order_by(ManualReading.session_id, ManualReading.ts_ms.desc())
            )
        )
        .scalars()
        .all()
    )
    out: list[ManualReading] = []
    taken: dict[int, int] = {}
    for row in rows:
        if taken.get(row.session_id, 0) < per_session:
            taken[row.session_id] = taken.get(row.session_id, 0) + 1
            out.append(row)
    return out


async def values(db: AsyncSession, entries: Sequence[ManualReading]) -> dict[int, dict[str, Any]]:
    """The stored values of each entry (a row of readings), by entry id."""
    if not entries:
        return {}
    by_key = {(e.device_id, e.seq): e.id for e in entries}
    rows = await db.execute(
        select(readings.c.device_id, readings.c.seq, *(readings.c[m] for m in METRICS)).where(
            readings.c.device_id.in_({e.device_id for e in entries}),
            readings.c.seq.in_([e.seq for e in entries]),
        )
    )
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = by_key.get((int(row[0]), int(row[1])))
        if entry is not None:
            out[entry] = dict(zip(METRICS, row[2:], strict=True))
    return out


async def delete_entry(db: AsyncSession, entry_id: int, event_id: int) -> None:
    """An entry whose values never reached the store, with its timeline entry."""
    await db.execute(delete(ManualReading).where(ManualReading.id == entry_id))
    await db.execute(delete(SessionEvent).where(SessionEvent.id == event_id))
