"""A session's record changed (observation, sign-off, readiness): every dashboard
gets the session object again, readiness included, once the change commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.sessions import service as sessions_service
from vitalwatch.sessions.models import Session
from vitalwatch.sessions.service import SessionParts


async def session_changed(db: AsyncSession, parts: SessionParts, sessions: list[Session]) -> None:
    await db.flush()
    for out in await sessions_service.views(db, parts.latest, parts.settings, sessions):
        await parts.events.emit(db, "session", {"session": out.model_dump(mode="json")})
