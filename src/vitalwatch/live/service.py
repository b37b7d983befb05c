"""What a dashboard receives on connecting: snapshot, then replay."""

from __future__ import annotations

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.context import AppContext
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions import service as sessions


async def opening_messages(
    db: AsyncSession, ctx: AppContext, since: int | None
) -> list[tuple[int, str]]:
    """The snapshot, then (with `since`) every durable event after it, in order.

    The snapshot carries event_id = `since` when replaying (the events that
    follow continue from there) or the newest event id otherwise, so the
    event ids a dashboard sees never go down.
    """
    newest = await ctx.hub.latest_event_id(db)
    active = await sessions_repo.list_(db, "active")
    views = await sessions.views(db, ctx, active)
    alarms = [a for v in views for a in v.alarms]
    alarms.sort(key=lambda a: a.raised_at, reverse=True)
    cursor = newest if since is None else min(since, newest)
    snapshot = orjson.dumps(
        {
            "type": "snapshot",
            "event_id": cursor,
            "sessions": [v.model_dump(mode="json") for v in views],
            "alarms": [a.model_dump(mode="json") for a in alarms],
        }
    ).decode()
    messages = [(cursor, snapshot)]
    if since is not None:
        messages.extend(await ctx.hub.replay(db, since))
    return messages
