"""A partition's ownership in process, on SQLite and PostgreSQL: which sessions
it holds, and the fence that stops a process whose partition was taken over
from writing a single row next to the new owner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.backends import new_database_url
from vitalwatch import migrate
from vitalwatch.alarms.ports import Ownership, OwnsEverything
from vitalwatch.cluster import repository
from vitalwatch.cluster.partition import LeaseLost, Partition
from vitalwatch.config import Settings
from vitalwatch.db import create_engine, create_sessionmaker
from vitalwatch.live.hub import Hub
from vitalwatch.readings.latest import LatestStore


@pytest.fixture
async def database(backend: str, tmp_path: Path) -> AsyncIterator[tuple[Settings, AsyncEngine]]:
    url = new_database_url(backend, tmp_path)
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(database_url=url)
    engine = create_engine(settings)
    yield settings, engine
    await engine.dispose()


def partition(settings: Settings, engine: AsyncEngine, index: int, epoch: int | None) -> Partition:
    maker = create_sessionmaker(engine)
    latest = LatestStore()
    return Partition(index, 4, settings, engine, maker, Hub(latest, maker), latest, epoch=epoch)


async def claim(engine: AsyncEngine, index: int, owner: str) -> int:
    async with engine.begin() as conn:
        return await repository.claim(conn, index, owner)


async def test_a_partition_holds_its_share_of_the_sessions(
    database: tuple[Settings, AsyncEngine],
) -> None:
    settings, engine = database
    one: Ownership = partition(settings, engine, 1, None)
    assert [s for s in range(12) if one.owns(s)] == [1, 5, 9]
    assert one.name == "1"
    everything: Ownership = OwnsEverything()
    assert all(everything.owns(s) for s in range(12))


async def test_the_old_owner_is_fenced_once_another_takes_the_partition(
    database: tuple[Settings, AsyncEngine],
) -> None:
    settings, engine = database
    old = partition(settings, engine, 2, await claim(engine, 2, "process-a"))
    async with engine.begin() as conn:
        await old.fence(conn)  # still its own
    new = partition(settings, engine, 2, await claim(engine, 2, "process-b"))
    assert new.epoch == (old.epoch or 0) + 1
    with pytest.raises(LeaseLost):
        async with engine.begin() as conn:
            await old.fence(conn)
    assert old.lost
    with pytest.raises(LeaseLost):  # and stays fenced, without asking again
        async with engine.begin() as conn:
            await old.fence(conn)
    async with engine.begin() as conn:
        await new.fence(conn)
    other = partition(settings, engine, 3, await claim(engine, 3, "process-a"))
    async with engine.begin() as conn:  # another partition's takeover is not its business
        await other.fence(conn)


async def test_one_process_never_fences(database: tuple[Settings, AsyncEngine]) -> None:
    settings, engine = database
    alone = partition(settings, engine, 0, None)
    await claim(engine, 0, "someone-else")
    async with engine.begin() as conn:
        await alone.fence(conn)
    assert not alone.lost
