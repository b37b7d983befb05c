"""A session's record changed (observation, sign-off, readiness): every dashboard
gets the session object again, readiness included, once the change commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.context import AppContext
from vitalwatch.sessions import service as sessions_service
from vitalwatch.sessions.models import Session


async def session_changed(db: AsyncSession, ctx: AppContext, sessions: list[Session]) -> None:
    await db.flush()
    for out in await sessions_service.views(db, ctx, sessions):
        await ctx.hub.emit(db, "session", {"session": out.model_dump(mode="json")})
