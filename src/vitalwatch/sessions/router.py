"""/api/v1/sessions: supervised dosing sessions (nurse or admin)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import Field

from vitalwatch.auth.deps import Staff, actor_of
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession
from vitalwatch.ids import MAX_ID, Moment, PathId
from vitalwatch.overview import service as overview
from vitalwatch.overview.deps import Parts
from vitalwatch.overview.schemas import SessionOut
from vitalwatch.records import doses
from vitalwatch.sessions import service
from vitalwatch.sessions.schemas import (
    EventCreate,
    EventOut,
    ProtocolOut,
    ReadingSeries,
    SessionCreate,
    ThresholdsChange,
    Trends,
)
from vitalwatch.sessions.thresholds import Thresholds
from vitalwatch.vitals import Metric

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "A device is busy, or the session has ended"}
}
_START: dict[int | str, dict[str, Any]] = {
    200: {"description": "A repeated start: the session already started", "model": SessionOut},
    409: {
        "description": "A device is busy, or the patient reference is on record with "
        "another name (send patient.confirm_rename)"
    },
}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionOut, responses=_START)
async def create_session(
    body: SessionCreate, db: DbSession, parts: Parts, claims: Staff, response: Response
) -> SessionOut:
    """Start a session; the same start repeated within 60 s answers 200 with it."""
    session, created = await service.create(db, parts, body, actor_of(claims))
    if not created:
        response.status_code = status.HTTP_200_OK
    return await overview.view(db, parts.latest, parts.settings, session)


@router.get("", response_model=list[SessionOut])
async def list_sessions(
    db: DbSession,
    ctx: Ctx,
    claims: Staff,
    status_: Annotated[Literal["active", "ended"] | None, Query(alias="status")] = None,
    room: Annotated[
        str | None, Query(min_length=1, max_length=64, description="This room (any case)")
    ] = None,
    patient: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=120,
            description="The patient reference, or part of the display name (any case)",
        ),
    ] = None,
    since: Annotated[
        Moment | None, Query(description="Sessions still running at or after this time")
    ] = None,
    until: Annotated[Moment | None, Query(description="Sessions started before this time")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[SessionOut]:
    """Sessions, newest first; the filters combine (past sessions: today, by room, by patient)."""
    return await overview.list_sessions(
        db,
        ctx.latest,
        ctx.settings,
        status_,
        room=room,
        patient=patient,
        since=since,
        until=until,
        limit=limit,
    )


@router.get("/protocols", response_model=list[ProtocolOut])
async def list_protocols(ctx: Ctx, claims: Staff) -> list[ProtocolOut]:
    """The protocols in the clinic's words and the limits a session of each starts from."""
    return service.protocols(ctx.settings.max_sustain_s)


@router.get("/trends", response_model=Trends)
async def trends(
    db: DbSession,
    claims: Staff,
    session_id: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]], Query(min_length=1, max_length=200)
    ],
    metric: Annotated[list[Metric], Query(min_length=1, max_length=6)],
    since: Moment | None = None,
    max_points: Annotated[int | None, Query(ge=2, le=10_000)] = None,
) -> Trends:
    """Several sessions' series in one request (the tiles' trends on page load)."""
    return await service.trends(db, session_id, list(metric), since, max_points)


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(session_id: PathId, db: DbSession, ctx: Ctx, claims: Staff) -> SessionOut:
    return await overview.get(db, ctx.latest, ctx.settings, session_id)


@router.post(
    "/{session_id}/events",
    status_code=status.HTTP_201_CREATED,
    response_model=EventOut,
    responses=_CONFLICT,
)
async def add_event(
    session_id: PathId, body: EventCreate, db: DbSession, parts: Parts, claims: Staff
) -> EventOut:
    """Add to the dosing timeline; the first `dose` fixes the pre-dose baseline. A dose
    may carry its drug, amount, route, lot and infusion stop; one given with the
    pre-dose checklist incomplete is stored, flagged and audited (`override_reason`)."""
    return await doses.add_event(db, parts, session_id, body, actor_of(claims))


@router.get("/{session_id}/events", response_model=list[EventOut])
async def list_events(session_id: PathId, db: DbSession, claims: Staff) -> list[EventOut]:
    return await service.list_events(db, session_id)


@router.patch("/{session_id}/thresholds", response_model=Thresholds, responses=_CONFLICT)
async def patch_thresholds(
    session_id: PathId, body: ThresholdsChange, db: DbSession, parts: Parts, claims: Staff
) -> Thresholds:
    """Merge the limits sent into those in force (audited with old, new and `reason`).

    A limit of the protocol removed, or an alarm delay over the clinic's maximum,
    switches that alarm off: the timeline says "alarm off: SpO2 low (reason)" and
    the session's `alarms_off` lists it until it is back."""
    return await service.patch_thresholds(db, parts, session_id, body, actor_of(claims))


@router.post("/{session_id}/end", response_model=SessionOut, responses=_CONFLICT)
async def end_session(session_id: PathId, db: DbSession, parts: Parts, claims: Staff) -> SessionOut:
    session = await service.end(db, parts, session_id, actor_of(claims))
    return await overview.view(db, parts.latest, parts.settings, session)


@router.get("/{session_id}/readings", response_model=ReadingSeries)
async def get_readings(
    session_id: PathId,
    db: DbSession,
    claims: Staff,
    metric: Metric,
    since: Moment | None = None,
    until: Moment | None = None,
    max_points: Annotated[int | None, Query(ge=2, le=100_000)] = None,
) -> ReadingSeries:
    """One metric's samples; with `max_points`, min/max-preserving downsampling."""
    return await service.readings_series(db, session_id, metric, since, until, max_points)
