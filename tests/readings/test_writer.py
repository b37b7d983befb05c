"""The group-commit writer in process, on SQLite and PostgreSQL: what it stores,
what it counts as a duplicate, what it refuses, and what its listeners see."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.support import Ward
from vitalwatch.config import Settings
from vitalwatch.db import create_engine
from vitalwatch.readings.models import readings
from vitalwatch.readings.repeats import SampleConflict
from vitalwatch.readings.validation import parse_readings
from vitalwatch.readings.writer import (
    DeviceNotBound,
    GroupCommitWriter,
    IngestResult,
    OutOfScope,
)
from vitalwatch.samples import SampleBatch, SampleColumns
from vitalwatch.sessions import repository as sessions_repo


@dataclass
class Recorder:
    """An IngestListener that keeps what it was shown."""

    before: list[int] = field(default_factory=list)  # rows seen inside the transaction
    after: list[SampleBatch] = field(default_factory=list)

    async def before_commit(self, conn: AsyncConnection, batch: SampleBatch) -> None:
        self.before.append(len(batch))

    async def after_commit(self, batch: SampleBatch) -> None:
        self.after.append(batch)

    async def after_rollback(self) -> None:
        return None


@pytest.fixture
async def engine(ward: Ward) -> AsyncIterator[AsyncEngine]:
    made = create_engine(Settings(database_url=ward.url))
    yield made
    await made.dispose()


#: Every batch is measured from here, so a repeated seq is a repeated sample.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def columns(seqs: range, hr: float = 72.0) -> SampleColumns:
    body = {
        "samples": [
            {"seq": s, "ts": (T0 + timedelta(seconds=s)).isoformat(), "hr": hr, "spo2": 97}
            for s in seqs
        ]
    }
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    return parse_readings(orjson.dumps(body), now_ms, 5_000)


async def stored(engine: AsyncEngine, device_id: int) -> int:
    async with engine.connect() as conn:
        count = select(func.count()).select_from(readings).where(readings.c.device_id == device_id)
        return int((await conn.execute(count)).scalar_one())


async def test_a_batch_is_stored_once_and_a_repeat_counts_as_duplicates(
    ward: Ward, engine: AsyncEngine
) -> None:
    seen = Recorder()
    writer = GroupCommitWriter(engine, sessions_repo.note_on_timeline, listeners=[seen])
    writer.start()
    try:
        first = await writer.submit(ward.bound, columns(range(10)))
        again = await writer.submit(ward.bound, columns(range(5, 15)))
    finally:
        await writer.stop()
    assert (first.accepted, first.duplicates) == (10, 0)
    assert (again.accepted, again.duplicates) == (5, 5)
    assert await stored(engine, ward.bound) == 15
    # the listeners see only what was stored, in the transaction and after it
    assert seen.before == [10, 5]
    assert [len(b) for b in seen.after] == [10, 5]
    assert sorted(seen.after[1].seq.tolist()) == list(range(10, 15))
    assert set(seen.after[0].session_id.tolist()) == {ward.session_id}


async def test_an_unbound_device_stores_nothing(ward: Ward, engine: AsyncEngine) -> None:
    seen = Recorder()
    writer = GroupCommitWriter(engine, sessions_repo.note_on_timeline, listeners=[seen])
    writer.start()
    try:
        with pytest.raises(DeviceNotBound):
            await writer.submit(ward.free, columns(range(3)))
        # a bound device in the same run is not held up by the refused one
        ok = await writer.submit(ward.bound, columns(range(3)))
    finally:
        await writer.stop()
    assert ok.accepted == 3
    assert await stored(engine, ward.free) == 0
    assert seen.before == [3]


class NoSession:
    """A SessionScope that covers no session (another writer stores them all)."""

    def covers(self, session_id: int) -> bool:
        return False


async def test_a_session_outside_the_writers_scope_is_refused_unstored(
    ward: Ward, engine: AsyncEngine
) -> None:
    writer = GroupCommitWriter(engine, sessions_repo.note_on_timeline, scope=NoSession())
    writer.start()
    try:
        with pytest.raises(OutOfScope):
            await writer.submit(ward.bound, columns(range(4)))
    finally:
        await writer.stop()
    assert await stored(engine, ward.bound) == 0


async def test_requests_waiting_together_share_one_commit(ward: Ward, engine: AsyncEngine) -> None:
    seen = Recorder()
    writer = GroupCommitWriter(engine, sessions_repo.note_on_timeline, listeners=[seen])
    # queued before the writer runs: one group commit takes them all
    waiting = [
        asyncio.create_task(writer.submit(ward.bound, columns(range(k * 10, k * 10 + 10))))
        for k in range(8)
    ]
    await asyncio.sleep(0)
    writer.start()
    try:
        results = await asyncio.gather(*waiting)
    finally:
        await writer.stop()
    assert [r.accepted for r in results] == [10] * 8
    assert seen.before == [80]
    assert await stored(engine, ward.bound) == 80


def joined(*parts: SampleColumns) -> SampleColumns:
    return SampleColumns(
        seq=np.concatenate([p.seq for p in parts]),
        ts_ms=np.concatenate([p.ts_ms for p in parts]),
        values=np.concatenate([p.values for p in parts]),
    )


async def test_a_conflicting_request_in_a_group_commit_is_refused_alone(
    ward: Ward, engine: AsyncEngine
) -> None:
    """Three requests in one group commit: the one that repeats a stored seq and
    time with another HR stores nothing, not even its new sample; the one that
    repeats that new sample stores it (it is new once the first is refused);
    a true retry is a duplicate."""
    seen = Recorder()
    writer = GroupCommitWriter(engine, sessions_repo.note_on_timeline, listeners=[seen])
    writer.start()
    try:
        assert (await writer.submit(ward.bound, columns(range(3), hr=150))).accepted == 3
    finally:
        await writer.stop()
    refused = joined(columns(range(50, 51), hr=70), columns(range(1, 2), hr=80))
    queued = [
        asyncio.create_task(writer.submit(ward.bound, cols))
        for cols in (refused, columns(range(50, 51), hr=70), columns(range(2), hr=150))
    ]
    await asyncio.sleep(0)
    writer.start()
    try:
        results = await asyncio.gather(*queued, return_exceptions=True)
    finally:
        await writer.stop()
    conflict, new, retry = results
    assert isinstance(conflict, SampleConflict), conflict
    [clash] = conflict.clashes
    assert (clash.index, clash.seq) == (1, 1)
    assert clash.differing() == {"hr": (150.0, 80.0)}
    assert new == IngestResult(1, 0) and retry == IngestResult(0, 2)
    assert seen.before == [3, 1]
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(readings.c.seq, readings.c.hr)
            .where(readings.c.device_id == ward.bound)
            .order_by(readings.c.seq)
        )
        assert [tuple(r) for r in rows] == [(0, 150), (1, 150), (2, 150), (50, 70)]
