"""/api/v1/hl7: unassigned monitors (register in one step), unmapped rows, and a
session's monitor alarms."""

from __future__ import annotations

from fastapi import APIRouter, status

from vitalwatch.auth.deps import Admin, Staff, actor_of
from vitalwatch.context import Ctx
from vitalwatch.db import DbSession, on_commit
from vitalwatch.devices.schemas import DeviceOut
from vitalwatch.hl7 import admin
from vitalwatch.hl7.schemas import MonitorAlarmOut, RegisterUnassigned, UnassignedOut, UnmappedOut
from vitalwatch.ids import PathId

router = APIRouter(tags=["hl7"])


@router.get("/api/v1/hl7/unassigned", response_model=list[UnassignedOut])
async def list_unassigned(db: DbSession, ctx: Ctx, claims: Admin) -> list[UnassignedOut]:
    """HL7 senders no device is registered for: their identifiers, when they were
    seen and a sample of what they send (no patient data). Their messages are
    answered AE and not stored."""
    if ctx.hl7 is not None:
        await ctx.hl7.flush()
    return await admin.unassigned(db)


@router.post(
    "/api/v1/hl7/unassigned/{sender_id}/register",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceOut,
    responses={404: {"description": "No such sender"}, 409: {"description": "Identifier taken"}},
)
async def register_unassigned(
    sender_id: PathId, body: RegisterUnassigned, db: DbSession, ctx: Ctx, claims: Admin
) -> DeviceOut:
    """Register an unassigned monitor in one step: a new device with its
    identifier, or the identifier added to an existing device."""
    out = await admin.register(db, ctx.devices, sender_id, body, actor_of(claims))

    async def _forget() -> None:
        if ctx.hl7 is not None:
            ctx.hl7.forget_identities()

    on_commit(db, _forget)
    return out


@router.get("/api/v1/hl7/unmapped", response_model=list[UnmappedOut])
async def list_unmapped(db: DbSession, ctx: Ctx, claims: Admin) -> list[UnmappedOut]:
    """Every OBX row that was not stored, counted per code, unit and reason
    (unmapped, not numeric, not a number, an OBX-11 status that is not a value,
    implausible, unit not of the metric's kind, waveform, or a reason of the
    mapping table), with an example value."""
    if ctx.hl7 is not None:
        await ctx.hl7.flush()
    return await admin.unmapped(db)


@router.get("/api/v1/sessions/{session_id}/monitor-alarms", response_model=list[MonitorAlarmOut])
async def monitor_alarms(session_id: PathId, db: DbSession, claims: Staff) -> list[MonitorAlarmOut]:
    """The monitor's own alarms (HL7 ORU^R40) shown on this session: starts,
    changes and ends, oldest first. They never drive VitalWatch's alarms."""
    return await admin.session_alarms(db, session_id)


@router.get("/api/v1/monitor-alarms", response_model=list[MonitorAlarmOut])
async def standing_monitor_alarms(db: DbSession, ctx: Ctx, claims: Staff) -> list[MonitorAlarmOut]:
    """The monitors' own alarms standing now on the active sessions (the
    station's tiles on load and every 30 s; live `monitor_alarm` events in
    between). They never drive VitalWatch's alarms."""
    return await admin.standing_alarms(db, ctx.settings.monitor_alarm_stands_s)
