"""/api/v1/notify: secondary notification targets, the escalation chain (admin),
deliveries (staff) and the phone's acknowledge link (authorised by its signed token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.audit.service import Actor
from vitalwatch.auth.deps import Admin, Staff, actor_of
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession
from vitalwatch.ids import PathId, QueryId
from vitalwatch.notify import service
from vitalwatch.notify.schemas import (
    ChainIn,
    ChainStepOut,
    LinkDone,
    LinkPreview,
    LinkToken,
    OutboxOut,
    OutboxState,
    TargetCreated,
    TargetIn,
    TargetOut,
    TargetPatch,
    TestOut,
)

router = APIRouter(prefix="/api/v1/notify", tags=["notify"])

_TARGET: dict[int | str, dict[str, Any]] = {404: {"description": "No such target"}}
_LINK: dict[int | str, dict[str, Any]] = {
    400: {"description": "The link is damaged or altered"},
    410: {"description": "The link has expired or has been used"},
}


@router.get("/targets", response_model=list[TargetOut])
async def list_targets(db: DbSession, claims: Admin) -> list[TargetOut]:
    return await service.list_targets(db)


@router.post(
    "/targets",
    status_code=status.HTTP_201_CREATED,
    response_model=TargetCreated,
    responses={409: {"description": "Name taken"}},
)
async def create_target(body: TargetIn, db: DbSession, claims: Admin) -> TargetCreated:
    """A webhook target's signing secret is in this answer only (generated when not given)."""
    return await service.create_target(db, body, actor_of(claims))


@router.patch("/targets/{target_id}", response_model=TargetCreated, responses=_TARGET)
async def update_target(
    target_id: PathId, body: TargetPatch, db: DbSession, claims: Admin
) -> TargetCreated:
    return await service.update_target(db, target_id, body, actor_of(claims))


@router.delete(
    "/targets/{target_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_TARGET, 409: {"description": "The target has sent notifications"}},
)
async def delete_target(target_id: PathId, db: DbSession, claims: Admin) -> Response:
    await service.delete_target(db, target_id, actor_of(claims))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/targets/{target_id}/test", response_model=TestOut, responses=_TARGET)
async def test_target(target_id: PathId, db: DbSession, ctx: Ctx, claims: Admin) -> TestOut:
    """Send a test notification now; `ok` and `outcome` say what the target answered."""
    return await service.send_test(db, ctx.settings, target_id, actor_of(claims))


@router.get("/chain", response_model=list[ChainStepOut])
async def get_chain(db: DbSession, claims: Admin) -> list[ChainStepOut]:
    return await service.get_chain(db)


@router.put("/chain", response_model=list[ChainStepOut], responses=_TARGET)
async def set_chain(body: ChainIn, db: DbSession, claims: Admin) -> list[ChainStepOut]:
    """Replace the escalation chain: step n notifies its target `delay_s` after hand-over."""
    return await service.set_chain(db, body, actor_of(claims))


@router.get("/outbox", response_model=list[OutboxOut])
async def list_outbox(
    db: DbSession,
    claims: Staff,
    alarm_id: QueryId = None,
    state: OutboxState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[OutboxOut]:
    """Secondary notifications, newest first (no secrets, no links)."""
    return await service.list_outbox(db, alarm_id, state, limit)


@router.post("/ack/preview", response_model=LinkPreview, responses=_LINK)
async def preview_link(body: LinkToken, db: DbSession, ctx: Ctx) -> LinkPreview:
    """What an acknowledge link would acknowledge, and as whom (changes nothing)."""
    return await service.preview_link(db, ctx.settings, body.token)


@router.post("/ack", response_model=LinkDone, responses={**_LINK, 409: {"description": "Resolved"}})
async def use_link(body: LinkToken, ctx: Ctx) -> LinkDone:
    """Acknowledge the link's alarm as the link's staff user (once)."""

    async def ack(alarm_id: int, actor: Actor) -> AlarmOut:
        return await ctx.cluster.alarm_action(alarm_id, "acknowledge", None, actor)

    return await service.use_link(ctx.sessionmaker, ctx.settings, body.token, ack)
