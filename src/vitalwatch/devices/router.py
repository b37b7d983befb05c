"""/api/v1/devices: admins register monitors; staff list them to start sessions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from vitalwatch.auth.deps import Admin, Staff, actor_of
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession, on_commit
from vitalwatch.devices import service
from vitalwatch.devices.schemas import (
    DeviceCreate,
    DeviceCreated,
    DeviceOut,
    DevicePatch,
    DeviceRetired,
)
from vitalwatch.hl7 import admin as hl7_admin
from vitalwatch.ids import PathId
from vitalwatch.overview.deps import Parts
from vitalwatch.sessions import service as sessions_service

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"description": "An HL7 identifier belongs to another device"}
}


async def _identities_changed(db: DbSession, ctx: Ctx, identifiers: list[str] | None) -> None:
    """Registered identifiers leave the unassigned senders; the MLLP listener
    forgets what it knew of senders once the change commits."""
    if identifiers:
        await hl7_admin.identifiers_registered(db, identifiers)

    async def _forget() -> None:
        if ctx.hl7 is not None:
            ctx.hl7.forget_identities()

    on_commit(db, _forget)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=DeviceCreated, responses=_TAKEN
)
async def register_device(
    body: DeviceCreate, db: DbSession, ctx: Ctx, claims: Admin
) -> DeviceCreated:
    """Register a monitor; `hl7_ids` names it in HL7 messages (MLLP)."""
    out = await service.register(db, body, actor_of(claims))
    await _identities_changed(db, ctx, body.hl7_ids)
    return out


@router.patch("/{device_id}", response_model=DeviceOut, responses=_TAKEN)
async def update_device(
    device_id: PathId, body: DevicePatch, db: DbSession, ctx: Ctx, claims: Admin
) -> DeviceOut:
    """Change a device's name, model, HL7 identifiers or HL7 time zone (audited)."""
    out = await service.update(db, device_id, body, actor_of(claims))
    await _identities_changed(db, ctx, body.hl7_ids)
    return out


@router.get("", response_model=list[DeviceOut])
async def list_devices(
    db: DbSession, ctx: Ctx, claims: Staff, include_retired: bool = False
) -> list[DeviceOut]:
    """Every device with `last_seen` and the `session_id` it is bound to (null: free).

    Nurses may list devices (they pick free ones when starting a session);
    registering one needs an admin. Retired devices only with `include_retired`.
    """
    return await service.list_devices(db, ctx.devices, include_retired)


@router.post("/{device_id}/rotate", response_model=DeviceCreated)
async def rotate_device_token(
    device_id: PathId, db: DbSession, ctx: Ctx, claims: Admin
) -> DeviceCreated:
    """A new device token, shown once; the old one is refused from now on."""
    return await service.rotate(db, device_id, ctx.devices, actor_of(claims))


@router.post("/{device_id}/retire", response_model=DeviceRetired)
async def retire_device(
    device_id: PathId, db: DbSession, ctx: Ctx, parts: Parts, claims: Admin
) -> DeviceRetired:
    """Retire a monitor: its token is refused at once; it leaves its session,
    whose alarms and dashboards are told."""
    retired = await service.retire(db, device_id, ctx.devices, actor_of(claims))
    if retired.released_session_id is not None:
        await sessions_service.monitor_released(db, parts, retired.released_session_id)
    return retired
