"""Queries on partition ownership (the fencing epoch)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from vitalwatch.cluster.models import PartitionOwner
from vitalwatch.db import utcnow

_owner = PartitionOwner


async def claim(conn: AsyncConnection, partition: int, owner: str) -> int:
    """Become the partition's owner; returns the new epoch.

    The upsert takes the row lock, so it waits for the previous owner's
    transaction in flight, and that owner's later transactions fail their check.
    """
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(_owner).values(partition=partition, epoch=1, owner=owner, acquired_at=utcnow())
    upsert = stmt.on_conflict_do_update(
        index_elements=["partition"],
        set_={
            "epoch": _owner.epoch + 1,
            "owner": stmt.excluded.owner,
            "acquired_at": stmt.excluded.acquired_at,
        },
    ).returning(_owner.epoch)
    return int((await conn.execute(upsert)).scalar_one())


async def still_owner(conn: AsyncConnection, partition: int, epoch: int) -> bool:
    """True when `epoch` is current; locks the row until the caller's transaction ends."""
    result = await conn.execute(
        update(_owner)
        .where(_owner.partition == partition, _owner.epoch == epoch)
        .values(epoch=_owner.epoch)
    )
    return result.rowcount == 1
