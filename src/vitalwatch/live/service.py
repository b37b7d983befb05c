"""What a dashboard receives on connecting: snapshot, then replay."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.db import unit_of_work
from vitalwatch.live.hub import Hub
from vitalwatch.overview.service import Ward

#: A snapshot is shared by the dashboards connecting within this long: after a
#: network blip every screen reconnects at once, and building the state of a
#: whole ward per connection would delay them all.
SNAPSHOT_TTL_S = 1.0


@dataclass(frozen=True)
class SnapshotParts:
    """What the ward's state is built from: a database session of its own, the
    hub (event ids, replay) and the overview domain's read model of the ward."""

    maker: async_sessionmaker[AsyncSession]
    hub: Hub
    ward: Ward


@dataclass(frozen=True)
class _Snapshot:
    built_at: float
    cursor: int  # the newest durable event the body reflects
    body: bytes  # JSON of {"sessions": [...], "alarms": [...]}


#: Both per service, keyed by the id of its hub (one a service; the parts are
#: built per connection).
_cache: dict[int, _Snapshot] = {}
#: The build in progress, per service: dashboards connecting while it runs wait
#: for it instead of starting their own. 200 screens reconnecting at once used to
#: start one build each, hold every pooled database connection, and time out.
_building: dict[int, asyncio.Task[_Snapshot]] = {}


async def _build(parts: SnapshotParts) -> _Snapshot:
    """The ward's state as of an event id, on a database session of its own (the
    build outlives any one dashboard, which may disconnect while waiting)."""
    async with unit_of_work(parts.maker) as db:
        cursor = await parts.hub.latest_event_id(db)
        ward = await parts.ward.state(db)
    body = orjson.dumps(
        {
            "sessions": [v.model_dump(mode="json") for v in ward.sessions],
            "alarms": [a.model_dump(mode="json") for a in ward.alarms],
        }
    )
    return _Snapshot(time.monotonic(), cursor, body)


def _finished(key: int, task: asyncio.Task[_Snapshot]) -> None:
    if _building.get(key) is task:
        del _building[key]
    if not task.cancelled() and task.exception() is None:
        _cache[key] = task.result()


async def _snapshot(parts: SnapshotParts, at_least: int) -> _Snapshot:
    """A snapshot at most SNAPSHOT_TTL_S old whose cursor is at least `at_least`;
    at most one build runs at a time."""
    key = id(parts.hub)
    while True:
        hit = _cache.get(key)
        if (
            hit is not None
            and time.monotonic() - hit.built_at < SNAPSHOT_TTL_S
            and hit.cursor >= at_least
        ):
            return hit
        task = _building.get(key)
        fresh = task is None
        if task is None:
            task = asyncio.create_task(_build(parts), name="live-snapshot")
            _building[key] = task
            task.add_done_callback(lambda t: _finished(key, t))
        snap = await asyncio.shield(task)
        if fresh or snap.cursor >= at_least:
            return snap
        # joined a build started before the client's `since` was committed: build anew


async def opening_messages(
    db: AsyncSession, parts: SnapshotParts, since: int | None
) -> list[tuple[int, str]]:
    """The snapshot, then every durable event after its cursor, in order.

    The snapshot carries event_id = its cursor, or `since` when that is older
    (the replayed events follow from there), so the event ids a dashboard sees
    never go down and nothing between the snapshot and live events is lost.
    """
    snap = await _snapshot(parts, since or 0)
    start = snap.cursor if since is None else min(since, snap.cursor)
    snapshot = f'{{"type":"snapshot","event_id":{start},{snap.body.decode()[1:]}'
    return [(start, snapshot), *await parts.hub.replay(db, start)]
