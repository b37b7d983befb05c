"""The collaborators of session changes (`SessionParts`) taken from the app's
context: one builder for the routers that change sessions (sessions, records,
manual readings, devices) and for the app's records check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from vitalwatch.context import Ctx
from vitalwatch.overview.service import SessionViews
from vitalwatch.sessions.service import SessionParts


def session_parts(ctx: Ctx) -> SessionParts:
    views = SessionViews(ctx.latest, ctx.settings, ctx.hub)
    return SessionParts(ctx.settings, ctx.latest, ctx.hub, ctx.cluster, views)


Parts = Annotated[SessionParts, Depends(session_parts)]
