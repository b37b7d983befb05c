"""What a dashboard receives on connecting: snapshot, then replay."""

from __future__ import annotations

import time

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.context import AppContext
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions import service as sessions

#: A snapshot is shared by the dashboards connecting within this long: after a
#: network blip every screen reconnects at once, and building the state of a
#: whole ward per connection would delay them all.
SNAPSHOT_TTL_S = 1.0

_cache: dict[int, tuple[float, int, bytes]] = {}


async def _snapshot_body(db: AsyncSession, ctx: AppContext) -> tuple[int, bytes]:
    """(cursor, JSON of sessions and alarms as of that event id), cached briefly."""
    key = id(ctx)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < SNAPSHOT_TTL_S:
        return hit[1], hit[2]
    cursor = await ctx.hub.latest_event_id(db)
    views = await sessions.views(db, ctx, await sessions_repo.list_(db, "active"))
    alarms = sorted((a for v in views for a in v.alarms), key=lambda a: a.raised_at, reverse=True)
    body = orjson.dumps(
        {
            "sessions": [v.model_dump(mode="json") for v in views],
            "alarms": [a.model_dump(mode="json") for a in alarms],
        }
    )
    _cache[key] = (time.monotonic(), cursor, body)
    return cursor, body


async def opening_messages(
    db: AsyncSession, ctx: AppContext, since: int | None
) -> list[tuple[int, str]]:
    """The snapshot, then every durable event after its cursor, in order.

    The snapshot carries event_id = its cursor, or `since` when that is older
    (the replayed events follow from there), so the event ids a dashboard sees
    never go down and nothing between the snapshot and live events is lost.
    """
    cursor, body = await _snapshot_body(db, ctx)
    if since is not None and since > cursor:  # the client is ahead of the cached state
        _cache.pop(id(ctx), None)
        cursor, body = await _snapshot_body(db, ctx)
    start = cursor if since is None else min(since, cursor)
    snapshot = f'{{"type":"snapshot","event_id":{start},{body.decode()[1:]}'
    return [(start, snapshot), *await ctx.hub.replay(db, start)]
