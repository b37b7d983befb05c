"""Vitals a nurse types in: POST /api/v1/sessions/{id}/readings, strike, list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from vitalwatch.auth.deps import Staff, actor_of
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession
from vitalwatch.ids import BodyId, PathId
from vitalwatch.manual import service
from vitalwatch.manual.schemas import ManualEntry, ManualReadingOut, StrikeIn
from vitalwatch.overview.deps import Parts

router = APIRouter(prefix="/api/v1/sessions", tags=["manual readings"])
#: Routes over several sessions (no session in the path).
station_router = APIRouter(tags=["manual readings"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such session (or reading)"},
    409: {"description": "The session has ended, or the reading was struck already"},
    503: {"description": "The database did not take the reading; try again"},
}


@router.post(
    "/{session_id}/readings",
    status_code=status.HTTP_201_CREATED,
    response_model=ManualReadingOut,
    responses=_ERRORS,
)
async def enter_reading(
    session_id: PathId, body: ManualEntry, ctx: Ctx, parts: Parts, claims: Staff
) -> ManualReadingOut:
    """Vitals read off a monitor by a nurse: stored and evaluated like a device's
    (baselines, alarms, "BP check due"), marked as typed in with the nurse's name,
    audited. 201 once durable. An impossible value is the device's 422."""
    return await service.enter(ctx.sessionmaker, parts, session_id, body, actor_of(claims))


@router.get("/{session_id}/manual-readings", response_model=list[ManualReadingOut])
async def list_manual(session_id: PathId, db: DbSession, claims: Staff) -> list[ManualReadingOut]:
    """Every typed-in reading of the session, struck ones included (marked)."""
    return await service.list_entries(db, session_id)


@router.post(
    "/{session_id}/manual-readings/{entry_id}/strike",
    response_model=ManualReadingOut,
    responses=_ERRORS,
)
async def strike_reading(
    session_id: PathId,
    entry_id: PathId,
    body: StrikeIn,
    db: DbSession,
    parts: Parts,
    claims: Staff,
) -> ManualReadingOut:
    """Strike out a wrong typed-in reading: kept in the record, marked struck with
    who and why, audited, on the timeline; left out of charts, baselines, latest
    values and later evaluation. Alarms it raised stay (acknowledge them)."""
    return await service.strike(db, parts, session_id, entry_id, body, actor_of(claims))


@station_router.get("/api/v1/manual-readings", response_model=list[ManualReadingOut])
async def recent_manual(
    db: DbSession,
    claims: Staff,
    session_id: Annotated[list[BodyId], Query(min_length=1, max_length=200)],
) -> list[ManualReadingOut]:
    """The newest typed-in readings (not struck, up to 10 a session) of these
    sessions: the station marks a latest value that was typed in when it opens."""
    return await service.recent(db, list(session_id))
