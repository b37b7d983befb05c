"""/api/v1/devices: admins register monitors; staff list them to start sessions."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from vitalwatch.auth.deps import Admin, Staff, actor_of
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession
from vitalwatch.devices import service
from vitalwatch.devices.schemas import (
    DeviceCreate,
    DeviceCreated,
    DeviceOut,
    DeviceRetired,
    DeviceUpdate,
)
from vitalwatch.ids import PathId

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeviceCreated)
async def register_device(body: DeviceCreate, db: DbSession, claims: Admin) -> DeviceCreated:
    return await service.register(db, body, actor_of(claims))


@router.get("", response_model=list[DeviceOut])
async def list_devices(
    db: DbSession, ctx: Ctx, claims: Staff, include_retired: bool = False
) -> list[DeviceOut]:
    """Every device with `last_seen` and the `session_id` it is bound to (null: free).

    Nurses may list devices (they pick free ones when starting a session);
    registering one needs an admin. Retired devices only with `include_retired`.
    """
    return await service.list_devices(db, ctx.devices, include_retired)


def _problem(exc: Exception) -> HTTPException:
    if isinstance(exc, service.DeviceNotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc))
    return HTTPException(status.HTTP_409_CONFLICT, detail=str(exc))


_ERRORS = (service.DeviceNotFound, service.DeviceRetiredError)


@router.patch("/{device_id}", response_model=DeviceOut)
async def update_device(
    device_id: PathId, body: DeviceUpdate, db: DbSession, claims: Admin
) -> DeviceOut:
    """Rename a monitor (name, model)."""
    try:
        return await service.update(db, device_id, body, actor_of(claims))
    except _ERRORS as exc:
        raise _problem(exc) from None


@router.post("/{device_id}/rotate", response_model=DeviceCreated)
async def rotate_device_token(
    device_id: PathId, db: DbSession, ctx: Ctx, claims: Admin
) -> DeviceCreated:
    """A new device token, shown once; the old one is refused from now on."""
    try:
        return await service.rotate(db, device_id, ctx.devices, actor_of(claims))
    except _ERRORS as exc:
        raise _problem(exc) from None


@router.post("/{device_id}/retire", response_model=DeviceRetired)
async def retire_device(device_id: PathId, db: DbSession, ctx: Ctx, claims: Admin) -> DeviceRetired:
    """Retire a monitor: its token is refused at once; it leaves its session."""
    try:
        return await service.retire(db, device_id, ctx.devices, actor_of(claims))
    except _ERRORS as exc:
        raise _problem(exc) from None
