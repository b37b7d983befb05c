"""Group commit: every ingest request waits for a shared, durable transaction.

Requests put their validated samples on a queue and await a future; one
writer task takes everything queued, writes it with one multi-row INSERT
(ON CONFLICT DO NOTHING ... RETURNING, so duplicates by (device, ts, seq)
are skipped and counted; see counters.py), lets the listeners (alarm evaluation) add their rows to
the same transaction, commits once, and only then answers every request.
With SQLite's synchronous=FULL one fsync covers hundreds of requests, so
throughput grows with load instead of collapsing to one fsync per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from vitalwatch.devices import repository as devices_repo
from vitalwatch.logging import get_logger
from vitalwatch.metrics import INGEST_COMMIT_ROWS, INGEST_COMMIT_SECONDS, INGEST_GROUP_REQUESTS
from vitalwatch.readings import repository
from vitalwatch.readings.counters import DeviceCounters
from vitalwatch.readings.routing import Bindings, Routes
from vitalwatch.samples import I64, SampleBatch, SampleColumns
from vitalwatch.tasks import cancel_and_wait
from vitalwatch.vitals import METRICS

log = get_logger(__name__)


class IngestListener(Protocol):
    """Work that rides on the ingest transaction (alarm evaluation, live fan-out)."""

    async def before_commit(self, conn: AsyncConnection, batch: SampleBatch) -> None:
        """Add rows to the same transaction; raising aborts the whole commit."""

    async def after_commit(self, batch: SampleBatch) -> None:
        """Publish what is now durable; must not block."""

    async def after_rollback(self) -> None:
        """The transaction failed: drop any state built on it."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int


class DeviceNotBound(Exception):
    """The device has no active session: nothing of the request is stored."""


class SessionScope(Protocol):
    """Which sessions' samples a writer stores. The device's binding is read in
    the storing transaction, so the writer is the one to refuse a session
    outside its scope (one writer stores every session: `EverySession`)."""

    def covers(self, session_id: int) -> bool:
        """Whether this writer stores (and its listeners evaluate) the session's samples."""
        ...


class EverySession:
    """The scope of a writer that stores every session's samples."""

    def covers(self, session_id: int) -> bool:
        return True


class Timeline(Protocol):
    """Where the writer notes, in its storing transaction, that readings were
    filed to a session the monitor had already left (the session's timeline:
    `sessions.repository.note_on_timeline`)."""

    async def __call__(
        self, conn: AsyncConnection, session_id: int, kind: str, detail: str
    ) -> None: ...


class OutOfScope(Exception):
    """The device's session is outside this writer's scope (its binding changed
    since the request was sent here): nothing is stored; the sender decides
    again where the samples go."""


class IngestUnavailable(Exception):
    """The database did not take the commit; the device should retry the batch."""


@dataclass(slots=True)
class _Job:
    device_id: int
    columns: SampleColumns
    future: asyncio.Future[IngestResult] = field(repr=False)


class GroupCommitWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        timeline: Timeline,
        listeners: Sequence[IngestListener] = (),
        max_rows: int = 20_000,
        queue_size: int = 10_000,
        lock: asyncio.Lock | None = None,
        scope: SessionScope | None = None,
    ) -> None:
        self._engine = engine
        #: Held around each group commit. The alarm service shares it so that
        #: every writer of alarm state takes this lock before any database
        #: lock: one lock order, no deadlock between ingest and the alarm clock.
        self._lock = lock or asyncio.Lock()
        self._listeners = list(listeners)
        #: Which sessions' samples it stores (see SessionScope).
        self._scope = scope or EverySession()
        self._max_rows = max_rows
        self._queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._dialect = engine.dialect.name
        self._counters = DeviceCounters()
        self._routes = Routes()
        self._timeline = timeline

    def add_listener(self, listener: IngestListener) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ingest-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop (graceful shutdown loses nothing)."""
        if self._task is None:
            return
        await self._queue.join()
        await cancel_and_wait(self._task)
        self._task = None

    async def submit(self, device_id: int, columns: SampleColumns) -> IngestResult:
        """Store the samples durably; returns once they are committed."""
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(device_id, columns, future))
        return await future

    async def _run(self) -> None:
        while True:
            jobs = [await self._queue.get()]
            rows = len(jobs[0].columns)
            while rows < self._max_rows and not self._queue.empty():
                job = self._queue.get_nowait()
                jobs.append(job)
                rows += len(job.columns)
            try:
                async with self._lock:
                    await self._commit_group(jobs)
            except Exception:
                log.exception("ingest_commit_failed", requests=len(jobs), rows=rows)
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(IngestUnavailable())
                for listener in self._listeners:
                    with contextlib.suppress(Exception):
                        await listener.after_rollback()
            finally:
                for _ in jobs:
                    self._queue.task_done()

    async def _commit_group(self, jobs: list[_Job]) -> None:
        started = time.perf_counter()
        received_ms = int(time.time() * 1000)
        self._counters.rollback()
        async with self._engine.begin() as conn:
            routes = await self._routes.current(conn, {j.device_id for j in jobs})
            bound = {d: s for d, (s, _) in routes.items()}
            outside = {d for d, s in bound.items() if s is not None and not self._scope.covers(s)}
            for d in outside:
                bound[d] = None
            stored_jobs = [j for j in jobs if bound.get(j.device_id) is not None]
            batch, counts = await self._insert_rows(conn, stored_jobs, routes, received_ms)
            if len(batch):
                for listener in self._listeners:
                    await listener.before_commit(conn, batch)
        self._counters.commit()  # committed: the cache may move on
        INGEST_COMMIT_SECONDS.observe(time.perf_counter() - started)
        INGEST_COMMIT_ROWS.observe(len(batch))
        INGEST_GROUP_REQUESTS.observe(len(jobs))
        if len(batch):
            for listener in self._listeners:
                await listener.after_commit(batch)
        for job in jobs:
            if job.future.done():  # the request was cancelled (client went away)
                continue
            if job.device_id in outside:
                job.future.set_exception(OutOfScope())
            elif bound.get(job.device_id) is None:
                job.future.set_exception(DeviceNotBound())
            else:
                accepted = counts[id(job)]
                job.future.set_result(IngestResult(accepted, len(job.columns) - accepted))

    async def _store_returning(
        self, conn: AsyncConnection, rows: SampleBatch
    ) -> npt.NDArray[np.bool_]:
        """Multi-row INSERT .. ON CONFLICT DO NOTHING RETURNING: which rows were new."""
        session, device, seq, ts_ms, values = (
            rows.session_id,
            rows.device_id,
            rows.seq,
            rows.ts_ms,
            rows.values,
        )
        received_ms = rows.received_ms
        # NaN -> NULL explicitly: PostgreSQL would store NaN as a number.
        cells_obj = values.astype(object)
        cells_obj[np.isnan(values)] = None
        params = [
            {
                "session_id": s,
                "device_id": d,
                "seq": q,
                "ts_ms": t,
                "received_ms": received_ms,
                **dict(zip(METRICS, row, strict=True)),
            }
            for s, d, q, t, row in zip(
                session.tolist(),
                device.tolist(),
                seq.tolist(),
                ts_ms.tolist(),
                cells_obj.tolist(),
                strict=True,
            )
        ]
        inserted = await repository.insert_new(conn, params)
        if len(inserted) == len(params):
            return np.ones(len(params), dtype=bool)
        keep = np.zeros(len(params), dtype=bool)
        seen: set[tuple[int, int, int]] = set()
        for i, key in enumerate(zip(device.tolist(), ts_ms.tolist(), seq.tolist(), strict=True)):
            if key in inserted and key not in seen:
                keep[i] = True
                seen.add(key)
        return keep

    async def _store_sqlite(
        self, conn: AsyncConnection, rows: SampleBatch
    ) -> npt.NDArray[np.bool_]:
        """SQLite fast path: duplicates found first, then one executemany of tuples.

        A (device, ts, seq) can only be stored already when ts is not after the
        newest sample stored for that device, so only retried (or backlogged)
        samples cost a lookup. SQLite stores a NaN parameter as NULL.
        """
        session, device, seq, ts_ms, values = (
            rows.session_id,
            rows.device_id,
            rows.seq,
            rows.ts_ms,
            rows.values,
        )
        received_ms = rows.received_ms
        n = seq.shape[0]
        order = np.lexsort((seq, ts_ms, device))  # stable: the first of equal keys wins
        d_o, t_o, q_o = device[order], ts_ms[order], seq[order]
        repeated = np.zeros(n, dtype=bool)
        repeated[1:] = (d_o[1:] == d_o[:-1]) & (t_o[1:] == t_o[:-1]) & (q_o[1:] == q_o[:-1])
        keep = np.ones(n, dtype=bool)
        keep[order[repeated]] = False

        maybe_stored = keep & (ts_ms <= self._counters.newest_ts(device))
        for d in np.unique(device[maybe_stored]).tolist():
            mine = np.flatnonzero(maybe_stored & (device == d))
            for part in np.array_split(mine, max(1, len(mine) // 500 + 1)):
                stored = await repository.stored_keys(conn, d, np.unique(ts_ms[part]).tolist())
                pairs = zip(ts_ms[part].tolist(), seq[part].tolist(), strict=True)
                keep[part[[p in stored for p in pairs]]] = False

        rows_out = list(
            zip(
                session[keep].tolist(),
                device[keep].tolist(),
                seq[keep].tolist(),
                ts_ms[keep].tolist(),
                [received_ms] * int(keep.sum()),
                *values[keep].T.tolist(),
                strict=True,
            )
        )
        if rows_out:
            stored_rows = await repository.insert_tuples(conn, rows_out)
            if stored_rows != len(rows_out):
                log.warning("ingest_concurrent_writer", expected=len(rows_out), stored=stored_rows)
        return keep

    async def _note_counter_resets(self, conn: AsyncConnection, stored: SampleBatch) -> None:
        """A monitor that restarted its counter: every sample kept, and said so."""
        for d in self._counters.stored(stored.device_id, stored.seq, stored.ts_ms):
            await devices_repo.note_counter_reset(conn, d)
            log.warning("device_counter_reset", device_id=d)

    async def _insert_rows(
        self,
        conn: AsyncConnection,
        jobs: list[_Job],
        routes: Bindings,
        received_ms: int,
    ) -> tuple[SampleBatch, dict[int, int]]:
        empty = np.empty(0, dtype=np.int64)
        if not jobs:
            return SampleBatch(empty, empty, empty, empty, np.empty((0, len(METRICS))), 0), {}
        sizes = [len(j.columns) for j in jobs]
        device = np.repeat(np.array([j.device_id for j in jobs], dtype=np.int64), sizes)
        seq = np.concatenate([j.columns.seq for j in jobs])
        ts_ms = np.concatenate([j.columns.ts_ms for j in jobs])
        session = await self._sessions_of(conn, routes, device, ts_ms)
        values = np.concatenate([j.columns.values for j in jobs])
        rows = SampleBatch(session, device, seq, ts_ms, values, received_ms)
        await self._counters.load(conn, np.unique(device).tolist())
        store = self._store_sqlite if self._dialect == "sqlite" else self._store_returning
        keep = await store(conn, rows)
        counts: dict[int, int] = {}
        start = 0
        for job, size in zip(jobs, sizes, strict=True):
            counts[id(job)] = int(keep[start : start + size].sum())
            start += size
        batch = SampleBatch(
            session_id=session[keep],
            device_id=device[keep],
            seq=seq[keep],
            ts_ms=ts_ms[keep],
            values=values[keep],
            received_ms=received_ms,
        )
        if len(batch):
            await self._note_counter_resets(conn, batch)
        return batch, counts

    async def _sessions_of(
        self, conn: AsyncConnection, routes: Bindings, device: I64, ts_ms: I64
    ) -> I64:
        """Each sample's session: the current one, unless measured before its binding."""
        session, moved = await self._routes.sessions(conn, routes, device, ts_ms)
        for (d, s), n in moved.items():
            await self._timeline(
                conn,
                s,
                "late_readings",
                f"{n} readings from device {d}, measured during this session, "
                "arrived after the monitor was bound to another session",
            )
            log.info(
                "readings_filed_to_earlier_session",
                device_id=d,
                session_id=s,
                current_session_id=routes[d][0],
                samples=n,
            )
        return session
