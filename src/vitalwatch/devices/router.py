"""/api/v1/devices: admins register monitors; staff list them to start sessions."""

from __future__ import annotations

from fastapi import APIRouter, status

from vitalwatch.auth.deps import Admin, Staff, actor_of
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession
from vitalwatch.devices import service
from vitalwatch.devices.schemas import DeviceCreate, DeviceCreated, DeviceOut

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeviceCreated)
async def register_device(body: DeviceCreate, db: DbSession, claims: Admin) -> DeviceCreated:
    return await service.register(db, body, actor_of(claims))


@router.get("", response_model=list[DeviceOut])
async def list_devices(db: DbSession, ctx: Ctx, claims: Staff) -> list[DeviceOut]:
    """Every device with `last_seen` and the `session_id` it is bound to (null: free).

    Nurses may list devices (they pick free ones when starting a session);
    registering one needs an admin.
    """
    return await service.list_devices(db, ctx.devices)
