"""Queries on stored readings."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vitalwatch.manual.models import ManualReading
from vitalwatch.readings.models import readings
from vitalwatch.readings.writer import StoredBatch
from vitalwatch.sessions.models import Session
from vitalwatch.vitals import METRICS


def not_struck() -> ColumnElement[bool]:
    """Readings a nurse has not struck out: struck ones stay in the record but out
    of charts, baselines and the engine's state."""
    m = ManualReading
    return ~exists().where(
        m.device_id == readings.c.device_id, m.seq == readings.c.seq, m.struck_at.is_not(None)
    )


async def manual_points(
    db: AsyncSession, session_id: int, metric: str, since_ms: int | None, until_ms: int | None
) -> list[tuple[int, float, int, str]]:
    """(ts_ms, value, entry id, nurse) of the typed-in, not struck values of a metric."""
    col = readings.c[metric]
    m = ManualReading
    stmt = (
        select(readings.c.ts_ms, col, m.id, m.entered_by_name)
        .join(m, (m.device_id == readings.c.device_id) & (m.seq == readings.c.seq))
        .where(m.session_id == session_id, col.is_not(None), m.struck_at.is_(None))
    )
    if since_ms is not None:
        stmt = stmt.where(readings.c.ts_ms >= since_ms)
    if until_ms is not None:
        stmt = stmt.where(readings.c.ts_ms <= until_ms)
    rows = (await db.execute(stmt.order_by(readings.c.ts_ms))).all()
    return [(int(t), float(v), int(i), str(n)) for t, v, i, n in rows]


async def series(
    db: AsyncSession, session_id: int, metric: str, since_ms: int | None, until_ms: int | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """One metric of one session in time order (NULLs left out)."""
    col = readings.c[metric]
    stmt = select(readings.c.ts_ms, col).where(
        readings.c.session_id == session_id, col.is_not(None), not_struck()
    )
    if since_ms is not None:
        stmt = stmt.where(readings.c.ts_ms >= since_ms)
    if until_ms is not None:
        stmt = stmt.where(readings.c.ts_ms <= until_ms)
    rows = (await db.execute(stmt.order_by(readings.c.ts_ms, readings.c.id))).all()
    ts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    values = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    return ts, values


async def medians(
    db: AsyncSession, session_id: int, since_ms: int, until_ms: int
) -> dict[str, float | None]:
    """Per-metric median over a window: the pre-dose baseline."""
    stmt = select(*(readings.c[m] for m in METRICS)).where(
        readings.c.session_id == session_id,
        readings.c.ts_ms >= since_ms,
        readings.c.ts_ms < until_ms,
        not_struck(),
    )
    rows = (await db.execute(stmt)).all()
    if not rows:
        return {m: None for m in METRICS}
    table = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=np.float64)
    out: dict[str, float | None] = {}
    for j, metric in enumerate(METRICS):
        column = table[:, j]
        column = column[~np.isnan(column)]
        out[metric] = round(float(np.median(column)), 1) if column.size else None
    return out


async def recent_batches(
    conn: AsyncConnection, session_ids: list[int], since_ms: int
) -> list[StoredBatch]:
    """Recent samples of many sessions, one batch per original group commit.

    Replaying them in commit order, each with its own receive time, rebuilds
    the alarm engine's state as it was (technical alarms use receive times).
    """
    stmt = (
        select(
            readings.c.session_id,
            readings.c.device_id,
            readings.c.seq,
            readings.c.ts_ms,
            readings.c.received_ms,
            *(readings.c[m] for m in METRICS),
        )
        .where(readings.c.session_id.in_(session_ids), readings.c.ts_ms >= since_ms, not_struck())
        .order_by(readings.c.id)
    )
    rows = (await conn.execute(stmt)).all()
    if not rows:
        return []
    table = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=np.float64)
    received = table[:, 4].astype(np.int64)
    cuts = np.flatnonzero(received[1:] != received[:-1]) + 1
    batches = []
    for part in np.split(np.arange(len(rows)), cuts):
        t = table[part]
        batches.append(
            StoredBatch(
                session_id=t[:, 0].astype(np.int64),
                device_id=t[:, 1].astype(np.int64),
                seq=t[:, 2].astype(np.int64),
                ts_ms=t[:, 3].astype(np.int64),
                values=t[:, 5:],
                received_ms=int(received[part[0]]),
            )
        )
    return batches


async def session_history(
    conn: AsyncConnection, session_id: int, since_ms: int, limit: int
) -> StoredBatch:
    """One session's stored samples from `since_ms` on, in measurement order
    (the engine judges a backlog again with them)."""
    stmt = (
        select(
            readings.c.device_id,
            readings.c.seq,
            readings.c.ts_ms,
            *(readings.c[m] for m in METRICS),
        )
        .where(readings.c.session_id == session_id, readings.c.ts_ms >= since_ms)
        .order_by(readings.c.ts_ms, readings.c.id)
        .limit(limit)
    )
    rows = (await conn.execute(stmt)).all()
    table = np.array(
        [[np.nan if v is None else v for v in r] for r in rows], dtype=np.float64
    ).reshape(len(rows), 3 + len(METRICS))
    n = len(rows)
    return StoredBatch(
        session_id=np.full(n, session_id, dtype=np.int64),
        device_id=table[:, 0].astype(np.int64),
        seq=table[:, 1].astype(np.int64),
        ts_ms=table[:, 2].astype(np.int64),
        values=table[:, 3:],
        received_ms=0,
    )


async def delete_of_sessions_ended_before(
    db: AsyncSession, cutoff: datetime, batch: int = 10_000
) -> int:
    """Delete up to `batch` readings of sessions that ended before `cutoff`.

    Small batches keep each transaction short, so ingest is never held up.
    """
    ended = select(Session.id).where(Session.status == "ended", Session.ended_at < cutoff)
    victims = select(readings.c.id).where(readings.c.session_id.in_(ended)).limit(batch)
    result = await db.execute(delete(readings).where(readings.c.id.in_(victims)))
    return int(getattr(result, "rowcount", 0) or 0)
