"""The collaborators of session changes (`SessionParts`) taken from the app's
context: one builder for the routers that change sessions (sessions, records,
manual readings) and for the app's records check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from vitalwatch.context import Ctx
from vitalwatch.sessions.service import SessionParts


def session_parts(ctx: Ctx) -> SessionParts:
    return SessionParts(ctx.settings, ctx.latest, ctx.hub, ctx.cluster)


Parts = Annotated[SessionParts, Depends(session_parts)]
