"""/api/v1/sdc: SDC monitors found on the network, and an admin's binding of one
to a device."""

from __future__ import annotations

from fastapi import APIRouter, status

from vitalwatch.auth.deps import Admin, actor_of
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession
from vitalwatch.sdc.schemas import BindProvider, ProviderOut
from vitalwatch.sdc.service import SdcOff

router = APIRouter(tags=["sdc"])


@router.get(
    "/api/v1/sdc/providers",
    response_model=list[ProviderOut],
    responses={404: {"description": "The SDC consumer is off (VITALWATCH_SDC_ADAPTER unset)"}},
)
async def list_providers(db: DbSession, ctx: Ctx, claims: Admin) -> list[ProviderOut]:
    """SDC providers announced on the network now (WS-Discovery hello and probe
    matches, gone on bye) and the bound ones: manufacturer, model, serial
    number, endpoint reference, location context, binding. No patient data."""
    if ctx.sdc is None:
        raise SdcOff()
    return await ctx.sdc.providers(db)


@router.post(
    "/api/v1/sdc/providers/bind",
    status_code=status.HTTP_201_CREATED,
    response_model=ProviderOut,
    responses={
        404: {"description": "No such provider announced now, or no such monitor device"},
        409: {"description": "The provider or the device is bound already"},
    },
)
async def bind_provider(body: BindProvider, db: DbSession, ctx: Ctx, claims: Admin) -> ProviderOut:
    """Bind a provider found now to a monitor device (audited): from then on its
    metric reports are the device's samples and its alerts the device's
    monitor alarms, in whichever session the device is bound to."""
    if ctx.sdc is None:
        raise SdcOff()
    return await ctx.sdc.bind(db, body, actor_of(claims))
