"""/api/v1/alarms: the alarm list, acknowledge and silence (nurse or admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from vitalwatch.alarms import repository, service
from vitalwatch.alarms.errors import AlarmNotFound
from vitalwatch.alarms.schemas import AlarmLogOut, AlarmOut, AlarmState, SilenceRequest
from vitalwatch.auth.deps import Staff, actor_of
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession
from vitalwatch.ids import PathId, QueryId

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

_NOT_OPEN: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such alarm"},
    409: {"description": "Already resolved"},
}


@router.get("", response_model=list[AlarmOut])
async def list_alarms(
    db: DbSession,
    claims: Staff,
    state: AlarmState | None = None,
    session_id: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AlarmOut]:
    """Alarms, newest first."""
    return await service.search(db, state, session_id, limit)


@router.get("/{alarm_id}/log", response_model=list[AlarmLogOut])
async def alarm_log(alarm_id: PathId, db: DbSession, claims: Staff) -> list[AlarmLogOut]:
    """Every transition of one alarm with its time, priority, value, limit and user."""
    if await repository.get(db, alarm_id) is None:
        raise AlarmNotFound(alarm_id)
    return [AlarmLogOut.model_validate(e) for e in await repository.log_of(db, alarm_id)]


@router.post("/{alarm_id}/ack", response_model=AlarmOut, responses=_NOT_OPEN)
async def acknowledge(alarm_id: PathId, ctx: Ctx, claims: Staff) -> AlarmOut:
    return await ctx.cluster.alarm_action(alarm_id, "acknowledge", None, actor_of(claims))


@router.post("/{alarm_id}/silence", response_model=AlarmOut, responses=_NOT_OPEN)
async def silence(
    alarm_id: PathId,
    ctx: Ctx,
    claims: Staff,
    body: Annotated[SilenceRequest | None, Body()] = None,
) -> AlarmOut:
    """Pause the alarm's audio for `seconds` (120 by default, at most 300)."""
    seconds = (body or SilenceRequest()).seconds
    return await ctx.cluster.alarm_action(alarm_id, "silence", seconds, actor_of(claims))
