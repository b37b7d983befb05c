"""Group commit: every ingest request waits for a shared, durable transaction.

Requests put their validated samples on a queue and await a future; one
writer task takes everything queued, writes it with one multi-row INSERT
(duplicates, a sample that repeats a stored one with its values, are left
out and counted; a request that repeats one with other values is refused
whole: repeats.py), lets the listeners (alarm evaluation) add their rows to
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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from vitalwatch.devices import repository as devices_repo
from vitalwatch.logging import get_logger
from vitalwatch.metrics import INGEST_COMMIT_ROWS, INGEST_COMMIT_SECONDS, INGEST_GROUP_REQUESTS
from vitalwatch.readings import repository
from vitalwatch.readings.counters import DeviceCounters
from vitalwatch.readings.repeats import Clash, SampleConflict, sort_out
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


class ConcurrentWrite(Exception):
    """Another writer stored rows this group counted as new: the group is
    rolled back and its devices retry (then judged against those rows)."""


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
            batch, counts, refused = await self._insert_rows(conn, stored_jobs, routes, received_ms)
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
            elif id(job) in refused:
                job.future.set_exception(SampleConflict(refused[id(job)]))
            else:
                accepted = counts[id(job)]
                job.future.set_result(IngestResult(accepted, len(job.columns) - accepted))

    async def _store(self, conn: AsyncConnection, rows: SampleBatch) -> None:
        """Insert rows known to be new: one executemany (SQLite: of plain tuples;
        it stores a NaN parameter as NULL). A row another writer stored
        meanwhile (ON CONFLICT skips it) makes the whole group fail: its
        devices retry, and are then told exactly what is stored."""
        cells = rows.values.tolist()
        if self._dialect == "sqlite":
            n = len(rows)
            inserted = await repository.insert_tuples(
                conn,
                list(
                    zip(
                        rows.session_id.tolist(),
                        rows.device_id.tolist(),
                        rows.seq.tolist(),
                        rows.ts_ms.tolist(),
                        [rows.received_ms] * n,
                        *rows.values.T.tolist(),
                        strict=True,
                    )
                ),
            )
        else:
            # NaN -> NULL explicitly: PostgreSQL would store NaN as a number.
            params = [
                {
                    "session_id": s,
                    "device_id": d,
                    "seq": q,
                    "ts_ms": t,
                    "received_ms": rows.received_ms,
                    **{m: None if v != v else v for m, v in zip(METRICS, row, strict=True)},
                }
                for s, d, q, t, row in zip(
                    rows.session_id.tolist(),
                    rows.device_id.tolist(),
                    rows.seq.tolist(),
                    rows.ts_ms.tolist(),
                    cells,
                    strict=True,
                )
            ]
            inserted = await repository.insert_new(conn, params)
        if inserted != len(rows):
            devices = np.unique(rows.device_id).tolist()
            self._counters.forget(devices)  # the retry looks the devices up again
            log.warning("ingest_concurrent_writer", expected=len(rows), stored=inserted)
            raise ConcurrentWrite()

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
    ) -> tuple[SampleBatch, dict[int, int], dict[int, list[Clash]]]:
        """Store the jobs' new samples; per job (by id) how many were new, and
        the jobs refused for a conflicting sample (nothing of theirs stored)."""
        empty = np.empty(0, dtype=np.int64)
        if not jobs:
            return SampleBatch(empty, empty, empty, empty, np.empty((0, len(METRICS))), 0), {}, {}
        sizes = [len(j.columns) for j in jobs]
        device = np.repeat(np.array([j.device_id for j in jobs], dtype=np.int64), sizes)
        seq = np.concatenate([j.columns.seq for j in jobs])
        ts_ms = np.concatenate([j.columns.ts_ms for j in jobs])
        values = np.concatenate([j.columns.values for j in jobs])
        await self._counters.load(conn, np.unique(device).tolist())
        found = await sort_out(
            conn, device, seq, ts_ms, values, self._counters.newest_ts(device), sizes
        )
        keep = found.keep
        batch = SampleBatch(
            session_id=await self._sessions_of(conn, routes, device[keep], ts_ms[keep]),
            device_id=device[keep],
            seq=seq[keep],
            ts_ms=ts_ms[keep],
            values=values[keep],
            received_ms=received_ms,
        )
        if len(batch):
            await self._store(conn, batch)
            await self._note_counter_resets(conn, batch)
        counts: dict[int, int] = {}
        start = 0
        for job, size in zip(jobs, sizes, strict=True):
            counts[id(job)] = int(keep[start : start + size].sum())
            start += size
        return batch, counts, {id(jobs[k]): clashes for k, clashes in found.refused.items()}

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
