"""Queries on the live event log (`live_events`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vitalwatch.db import utcnow
from vitalwatch.live.models import LiveEvent

#: PostgreSQL transaction-level advisory lock taken before a live event is
#: inserted: the events' ids then follow commit order (a lower id can never
#: commit after a higher one is visible), which replay with `since` and the
#: in-order delivery rely on. SQLite already serialises writers.
EVENT_ORDER_LOCK = 0x56574C45  # "VWLE"


async def insert_event(conn: AsyncConnection, type_: str, payload: dict[str, Any]) -> int:
    """Add an event in the caller's transaction (in commit order); its id."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sql("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_ORDER_LOCK})
    result = await conn.execute(
        insert(LiveEvent)
        .values(type=type_, payload=payload, created_at=utcnow())
        .returning(LiveEvent.id)
    )
    return int(result.scalar_one())


async def events_after(
    db: AsyncSession, after: int, upto: int | None = None, limit: int | None = None
) -> list[tuple[int, str, dict[str, Any]]]:
    """(id, type, payload) of the events after `after` (up to `upto`), oldest first."""
    query = select(LiveEvent.id, LiveEvent.type, LiveEvent.payload).where(LiveEvent.id > after)
    if upto is not None:
        query = query.where(LiveEvent.id <= upto)
    query = query.order_by(LiveEvent.id)
    if limit is not None:
        query = query.limit(limit)
    return [(int(i), str(t), p) for i, t, p in (await db.execute(query)).all()]


async def latest_event_id(db: AsyncSession) -> int:
    row = (await db.execute(select(LiveEvent.id).order_by(LiveEvent.id.desc()).limit(1))).first()
    return int(row[0]) if row else 0


async def prune(db: AsyncSession, older_than: datetime) -> None:
    await db.execute(delete(LiveEvent).where(LiveEvent.created_at < older_than))
