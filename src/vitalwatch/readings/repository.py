"""Queries on stored readings."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Float,
    Insert,
    Integer,
    Select,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vitalwatch.readings.models import ManualReading, readings
from vitalwatch.samples import SampleBatch, SampleColumns
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


#: Rows read and converted at a time when a partition's alarm state is rebuilt:
#: between chunks the event loop runs (lease renewal, requests, the alarm clock).
REPLAY_CHUNK_ROWS = 20_000
#: recent_rows' columns: session, device, seq, ts_ms, received_ms, then METRICS.
RECENT_COLUMNS = ("session_id", "device_id", "seq", "ts_ms", "received_ms", *METRICS)


async def recent_rows(
    conn: AsyncConnection, session_ids: list[int], since_ms: int
) -> npt.NDArray[np.float64]:
    """Recent samples of many sessions in commit order, one row each (columns
    `RECENT_COLUMNS`, NaN = absent; epoch ms are exact in float64).

    At 1,000 rooms x 20 min this is a million rows, read when a process takes
    partitions over, so it must neither stall the event loop nor take long:
    PostgreSQL hands over each column of a group of sessions as one array
    (decoded in C: 0.1 s of this process's CPU for 120,000 rows, where rows
    one by one took 3.6 s), SQLite's rows come in chunks; the loop runs
    between groups and chunks."""
    if conn.dialect.name == "postgresql":
        parts = []
        for i in range(0, len(session_ids), _SESSIONS_PER_ARRAY_QUERY):
            group = session_ids[i : i + _SESSIONS_PER_ARRAY_QUERY]
            row = (await conn.execute(_columns_as_arrays(group, since_ms))).one()
            if row[0]:
                parts.append(np.column_stack([np.asarray(a, dtype=np.float64) for a in row]))
            await asyncio.sleep(0)
        if not parts:
            return np.empty((0, len(RECENT_COLUMNS)), dtype=np.float64)
        table = np.concatenate(parts)
        return table[np.argsort(table[:, -1], kind="stable"), :-1]  # by id, then id dropped
    stmt = (
        select(*(readings.c[c] for c in RECENT_COLUMNS))
        .where(readings.c.session_id.in_(session_ids), readings.c.ts_ms >= since_ms, not_struck())
        .order_by(readings.c.id)
        .execution_options(yield_per=REPLAY_CHUNK_ROWS)
    )
    chunks = []
    result = await conn.stream(stmt)
    async for chunk in result.partitions(REPLAY_CHUNK_ROWS):
        table = np.array(chunk, dtype=object)
        table[table == None] = np.nan  # noqa: E711 - elementwise: NULL columns
        chunks.append(table.astype(np.float64))
        await asyncio.sleep(0)
    if not chunks:
        return np.empty((0, len(RECENT_COLUMNS)), dtype=np.float64)
    return np.concatenate(chunks)


#: Sessions whose recent readings one PostgreSQL array query reads (about
#: 120,000 rows at 20 min of 1 Hz).
_SESSIONS_PER_ARRAY_QUERY = 100


def _columns_as_arrays(session_ids: list[int], since_ms: int) -> Select[Any]:
    """One row: each of `RECENT_COLUMNS` (NULL as NaN), then the row id, as a
    float8 array in id order."""

    def column(name: str) -> ColumnElement[Any]:
        c = readings.c[name]
        value = func.coalesce(c, cast(literal("NaN"), Float)) if name in METRICS else c
        return func.array_agg(aggregate_order_by(cast(value, Float), readings.c.id))

    return select(*(column(c) for c in (*RECENT_COLUMNS, "id"))).where(
        readings.c.session_id.in_(session_ids), readings.c.ts_ms >= since_ms, not_struck()
    )


async def session_history(
    conn: AsyncConnection, session_id: int, since_ms: int, limit: int
) -> SampleBatch:
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
    return SampleBatch(
        session_id=np.full(n, session_id, dtype=np.int64),
        device_id=table[:, 0].astype(np.int64),
        seq=table[:, 1].astype(np.int64),
        ts_ms=table[:, 2].astype(np.int64),
        values=table[:, 3:],
        received_ms=0,
    )


async def delete_of_sessions(db: AsyncSession, session_ids: Select[int], batch: int) -> int:
    """Delete up to `batch` readings of the sessions `session_ids` selects."""
    victims = select(readings.c.id).where(readings.c.session_id.in_(session_ids)).limit(batch)
    result = await db.execute(delete(readings).where(readings.c.id.in_(victims)))
    return int(getattr(result, "rowcount", 0) or 0)


# -- the group commit's reads and writes (readings/writer.py), in its transaction --


async def newest_of_device(conn: AsyncConnection, device_id: int) -> tuple[int, int] | None:
    """(seq, ts_ms) of a device's newest stored sample (an index seek)."""
    row = (
        await conn.execute(
            select(readings.c.seq, readings.c.ts_ms)
            .where(readings.c.device_id == device_id)
            .order_by(readings.c.ts_ms.desc(), readings.c.seq.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


_COLUMNS = ("session_id", "device_id", "seq", "ts_ms", "received_ms", *METRICS)
#: SQLite's fast path: one executemany of plain tuples (SQLite stores NaN as NULL).
_RAW_INSERT = (
    f"INSERT INTO readings ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "  # noqa: S608 - constant names
    "ON CONFLICT (device_id, ts_ms, seq) DO NOTHING"
)


@functools.cache
def _insert_returning() -> Insert:
    """PostgreSQL: INSERT .. ON CONFLICT DO NOTHING RETURNING the new rows' keys."""
    return (
        postgresql.insert(readings)
        .on_conflict_do_nothing(index_elements=["device_id", "ts_ms", "seq"])
        .returning(readings.c.device_id, readings.c.ts_ms, readings.c.seq)
    )


async def insert_new(
    conn: AsyncConnection, rows: list[dict[str, Any]]
) -> set[tuple[int, int, int]]:
    """Insert the rows a (device, ts, seq) does not hold yet; the keys of those stored."""
    result = await conn.execute(_insert_returning(), rows)
    return {(int(d), int(t), int(q)) for d, t, q in result.all()}


async def stored_keys(
    conn: AsyncConnection, device_id: int, ts_ms: list[int]
) -> set[tuple[int, int]]:
    """(ts_ms, seq) of the readings a device already has at those times."""
    found = await conn.execute(
        select(readings.c.ts_ms, readings.c.seq).where(
            readings.c.device_id == device_id, readings.c.ts_ms.in_(ts_ms)
        )
    )
    return {(int(a), int(b)) for a, b in found}


async def holds(conn: AsyncConnection, device_id: int, columns: SampleColumns) -> bool:
    """Whether every sample of a request is stored for the device, with its values:
    what a requester asks the record when the answer of the process that stored
    them was lost (production mode), before telling the device anything."""
    found = await conn.execute(
        select(readings.c.ts_ms, readings.c.seq, *(readings.c[m] for m in METRICS)).where(
            readings.c.device_id == device_id,
            readings.c.ts_ms.in_(sorted({int(t) for t in columns.ts_ms})),
        )
    )
    stored = {
        (int(t), int(q)): [np.nan if v is None else float(v) for v in values]
        for t, q, *values in found
    }
    for ts_ms, seq, values in zip(columns.ts_ms, columns.seq, columns.values, strict=True):
        row = stored.get((int(ts_ms), int(seq)))
        if row is None or not np.allclose(row, values, rtol=1e-9, atol=0, equal_nan=True):
            return False
    return True


async def insert_tuples(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> int:
    """SQLite: insert rows known to be new (columns in `_COLUMNS` order); how many went in."""
    result = await conn.exec_driver_sql(_RAW_INSERT, rows)
    return int(result.rowcount)


# -- the latest values of sessions not seen since start (readings/latest.py) ------

#: 50 sessions x 6 metrics = 300 walks per statement.
_SESSIONS_PER_QUERY = 50


@functools.cache
def _walks(sessions: int) -> CompoundSelect[Any]:
    """The newest non-null value of every metric of `sessions` sessions (bound as
    :s0, :s1, ...). Built once per size: building it is slower than running it."""
    parts = []
    for k in range(sessions):
        sid = bindparam(f"s{k}", type_=BigInteger)
        for j, metric in enumerate(METRICS):
            col = readings.c[metric]
            walk = (
                select(
                    readings.c.session_id.label("sid"),
                    literal_column(str(j), Integer).label("j"),
                    col.label("value"),
                    readings.c.ts_ms,
                )
                .where(readings.c.session_id == sid, col.is_not(None), not_struck())
                .order_by(readings.c.ts_ms.desc())
                .limit(1)
                .subquery()
            )
            parts.append(select(walk))
    return union_all(*parts)


async def newest_of_sessions(
    db: AsyncSession, session_ids: list[int]
) -> list[tuple[int, str, float, int]]:
    """(session, metric, value, ts_ms) of the newest non-null value of every metric.

    Each (session, metric) is one index walk back from the newest row; the walks
    of 50 sessions go in one UNION ALL, so 1,000 sessions cost 20 round trips
    instead of 6,000 (2.4 s -> 0.3 s on SQLite, docs/performance.md)."""
    out: list[tuple[int, str, float, int]] = []
    for start in range(0, len(session_ids), _SESSIONS_PER_QUERY):
        chunk = session_ids[start : start + _SESSIONS_PER_QUERY]
        params = {f"s{k}": sid for k, sid in enumerate(chunk)}
        for sid, j, value, ts_ms in (await db.execute(_walks(len(chunk)), params)).all():
            out.append((int(sid), METRICS[int(j)], float(value), int(ts_ms)))
    return out
