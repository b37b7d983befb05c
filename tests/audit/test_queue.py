"""The audit rows, in process on SQLite and PostgreSQL: `record` adds one to the
caller's transaction; the queue (login attempts, written off the request
path) keeps each row's own time and folds repeats of one `count_as` key
into one row counting them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import Ward
from vitalwatch.audit.models import AuditEntry
from vitalwatch.audit.service import Actor, AuditQueue, record
from vitalwatch.config import Settings
from vitalwatch.db import create_engine, create_sessionmaker

WHO = Actor("user", None, "nurse")


@pytest.fixture
async def engine(ward: Ward) -> AsyncIterator[AsyncEngine]:
    made = create_engine(Settings(database_url=ward.url))
    yield made
    await made.dispose()


async def _rows(engine: AsyncEngine) -> list[AuditEntry]:
    async with create_sessionmaker(engine)() as db:
        return list((await db.scalars(select(AuditEntry).order_by(AuditEntry.id))).all())


async def test_record_is_stored_with_its_transaction(engine: AsyncEngine) -> None:
    before = datetime.now(UTC)
    async with create_sessionmaker(engine)() as db:
        await record(db, actor=WHO, action="x.kept", entity="session", entity_id=3)
        await db.commit()
    async with create_sessionmaker(engine)() as db:
        await record(db, actor=WHO, action="x.rolled_back", entity="session", entity_id=3)
        await db.rollback()
    (row,) = await _rows(engine)
    assert (row.actor_type, row.actor_name, row.action, row.entity, row.entity_id) == (
        "user",
        "nurse",
        "x.kept",
        "session",
        3,
    )
    assert row.detail is None and row.ts >= before.replace(microsecond=0)


async def test_the_queue_keeps_the_time_and_counts_repeats(engine: AsyncEngine) -> None:
    queue = AuditQueue(create_sessionmaker(engine))
    key = ("throttled", "nurse", "127.0.0.1")
    for _ in range(3):
        queue.add(
            actor=WHO,
            action="auth.login_throttled",
            entity="user",
            entity_id=None,
            detail={"address": "127.0.0.1"},
            count_as=key,
        )
    queue.add(actor=WHO, action="auth.login_failed", entity="user", entity_id=None, detail={"n": 1})
    added = datetime.now(UTC)
    await asyncio.sleep(0.2)
    await queue.flush()
    throttled, failed = await _rows(engine)
    assert throttled.action == "auth.login_throttled"
    assert throttled.detail == {"address": "127.0.0.1", "attempts": 3}
    assert failed.detail == {"n": 1}  # no count_as: stored as given
    for row in (throttled, failed):
        assert row.ts <= added  # when it was added, not the flush's time
