"""Queries on stored readings."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

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
    or_,
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


# -- readings in force: what every record view and export reads ------------------
#
# A reading is in force when it is stored and not struck out. A typed-in one
# carries its author; a struck one is never a value: the record shows it where
# it was entered, crossed out, with who struck it, when and why
# (`struck_of_sessions`).


def in_force(session_ids: list[int]) -> list[ColumnElement[bool]]:
    """The WHERE of the readings in force of some sessions (struck rows out)."""
    return [readings.c.session_id.in_(session_ids), not_struck()]


class BpReading(NamedTuple):
    """A cuff reading in force."""

    ts_ms: int
    sbp: float
    dbp: float
    entered_by: str | None  # the nurse who typed it in; None: a monitor's


async def bp_in_force(db: AsyncSession, session_ids: list[int]) -> dict[int, list[BpReading]]:
    """Every cuff reading in force of the sessions, in time order (sparse)."""
    c, m = readings.c, ManualReading
    stmt = (
        select(c.session_id, c.ts_ms, c.sbp, c.dbp, m.entered_by_name)
        .outerjoin(m, (m.device_id == c.device_id) & (m.seq == c.seq))
        .where(
            c.session_id.in_(session_ids),
            c.sbp.is_not(None),
            c.dbp.is_not(None),
            or_(m.id.is_(None), m.struck_at.is_(None)),
        )
        .order_by(c.session_id, c.ts_ms, c.id)
    )
    out: dict[int, list[BpReading]] = {}
    for sid, ts, sbp, dbp, by in (await db.execute(stmt)).all():
        out.setdefault(int(sid), []).append(BpReading(int(ts), float(sbp), float(dbp), by))
    return out


async def rows_in_force(
    db: AsyncSession, session_id: int, since_ms: int | None = None, until_ms: int | None = None
) -> tuple[list[int], list[tuple[float | None, ...]], list[str | None]]:
    """Every reading in force of a session in time order: ts_ms, the metric
    columns (METRICS order) and who typed it in (None: a monitor)."""
    c, m = readings.c, ManualReading
    stmt = (
        select(c.ts_ms, *(c[k] for k in METRICS), m.entered_by_name)
        .outerjoin(m, (m.device_id == c.device_id) & (m.seq == c.seq))
        .where(c.session_id == session_id, or_(m.id.is_(None), m.struck_at.is_(None)))
    )
    if since_ms is not None:
        stmt = stmt.where(c.ts_ms >= since_ms)
    if until_ms is not None:
        stmt = stmt.where(c.ts_ms <= until_ms)
    rows = (await db.execute(stmt.order_by(c.ts_ms, c.id))).all()
    n = len(METRICS)
    return [int(r[0]) for r in rows], [tuple(r[1 : 1 + n]) for r in rows], [r[-1] for r in rows]


async def extremes_in_force(
    db: AsyncSession, session_id: int, since_ms: int
) -> dict[str, float | None]:
    """Peak SBP, DBP and HR and the lowest SpO2 of the readings in force from `since_ms`."""
    c = readings.c
    row = (
        await db.execute(
            select(func.max(c.sbp), func.max(c.dbp), func.max(c.hr), func.min(c.spo2)).where(
                *in_force([session_id]), c.ts_ms >= since_ms
            )
        )
    ).one()
    return dict(zip(("sbp", "dbp", "hr", "spo2"), row, strict=True))


async def last_off_range(
    db: AsyncSession,
    session_id: int,
    metric: str,
    lo: float,
    hi: float,
    since_ms: int,
    until_ms: int,
) -> int | None:
    """When a metric in force was last outside [lo, hi] in [since_ms, until_ms]
    (readiness: a value off baseline restarts the stable stretch)."""
    c = readings.c
    col = c[metric]
    found = (
        await db.execute(
            select(func.max(c.ts_ms)).where(
                *in_force([session_id]),
                c.ts_ms >= since_ms,
                c.ts_ms <= until_ms,
                or_(col < lo, col > hi),
            )
        )
    ).scalar()
    return None if found is None else int(found)


async def first_in_range_after(
    db: AsyncSession, session_id: int, metric: str, after_ms: int, until_ms: int
) -> int | None:
    """The first reading in force of a metric after `after_ms` (up to `until_ms`)."""
    c = readings.c
    col = c[metric]
    found = (
        await db.execute(
            select(func.min(c.ts_ms)).where(
                *in_force([session_id]),
                c.ts_ms > after_ms,
                c.ts_ms <= until_ms,
                col.is_not(None),
            )
        )
    ).scalar()
    return None if found is None else int(found)


@dataclass(frozen=True, slots=True)
class StruckReading:
    """A typed-in reading a nurse struck out: shown crossed out, never a value."""

    session_id: int
    entry_id: int
    ts_ms: int
    values: dict[str, float]
    entered_by: str
    entered_at: datetime
    struck_at: datetime
    struck_by: str | None
    reason: str | None


async def struck_of_sessions(
    db: AsyncSession, session_ids: list[int]
) -> dict[int, list[StruckReading]]:
    """The struck readings of the sessions, in time order, with who struck them and why."""
    c, m = readings.c, ManualReading
    stmt = (
        select(m, *(c[k] for k in METRICS))
        .join(readings, (m.device_id == c.device_id) & (m.seq == c.seq))
        .where(m.session_id.in_(session_ids), m.struck_at.is_not(None))
        .order_by(m.session_id, m.ts_ms, m.id)
    )
    out: dict[int, list[StruckReading]] = {}
    for entry, *values in (await db.execute(stmt)).all():
        assert entry.struck_at is not None
        out.setdefault(entry.session_id, []).append(
            StruckReading(
                session_id=entry.session_id,
                entry_id=entry.id,
                ts_ms=entry.ts_ms,
                values={k: float(v) for k, v in zip(METRICS, values, strict=True) if v is not None},
                entered_by=entry.entered_by_name,
                entered_at=entry.entered_at,
                struck_at=entry.struck_at,
                struck_by=entry.struck_by_name,
                reason=entry.strike_reason,
            )
        )
    return out


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
def _insert_new() -> Insert:
    """PostgreSQL: INSERT .. ON CONFLICT DO NOTHING (a concurrent writer's row
    stays) RETURNING each new row's id: asyncpg's executemany has no rowcount."""
    return (
        postgresql.insert(readings)
        .on_conflict_do_nothing(index_elements=["device_id", "ts_ms", "seq"])
        .returning(readings.c.id)
    )


async def insert_new(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """PostgreSQL: insert rows known to be new; how many went in."""
    result = await conn.execute(_insert_new(), rows)
    return len(result.all())


async def stored_values(
    conn: AsyncConnection, device_id: int, ts_ms: list[int]
) -> dict[tuple[int, int, int], tuple[float | None, ...]]:
    """(device, ts_ms, seq) -> values (METRICS order) of a device's readings at those times."""
    found = await conn.execute(
        select(readings.c.ts_ms, readings.c.seq, *(readings.c[m] for m in METRICS)).where(
            readings.c.device_id == device_id, readings.c.ts_ms.in_(ts_ms)
        )
    )
    return {
        (device_id, int(t), int(q)): tuple(None if v is None else float(v) for v in cells)
        for t, q, *cells in found
    }


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
