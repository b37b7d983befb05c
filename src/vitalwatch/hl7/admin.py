"""What admins do with HL7 senders: see the unassigned ones, register them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.db import utcnow
from vitalwatch.devices import repository as devices_repo
from vitalwatch.devices import service as devices
from vitalwatch.devices.schemas import DeviceCreate, DeviceOut, DevicePatch
from vitalwatch.devices.service import DeviceDirectory
from vitalwatch.errors import Conflict, NotFound
from vitalwatch.hl7 import repository
from vitalwatch.hl7.models import MonitorAlarm
from vitalwatch.hl7.monitor import alarm_view
from vitalwatch.hl7.schemas import (
    Identifier,
    MonitorAlarmOut,
    RegisterUnassigned,
    UnassignedOut,
    UnmappedOut,
)
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.errors import SessionNotFound


class SenderNotFound(NotFound):
    pass


async def unassigned(db: AsyncSession) -> list[UnassignedOut]:
    return [
        UnassignedOut(
            id=s.id,
            identifier=s.display,
            identifiers=[Identifier(**i) for i in s.identifiers],
            address=s.address,
            first_seen=s.first_seen,
            last_seen=s.last_seen,
            messages=s.messages,
            sample=s.sample,
        )
        for s in await repository.senders(db)
    ]


async def identifiers_registered(db: AsyncSession, identifiers: Sequence[str]) -> None:
    """Identifiers a device now holds are no longer unassigned senders."""
    await repository.forget_senders(db, identifiers)


async def register(
    db: AsyncSession,
    directory: DeviceDirectory,
    sender_id: int,
    body: RegisterUnassigned,
    actor: audit.Actor,
) -> DeviceOut:
    sender = await repository.sender(db, sender_id)
    if sender is None:
        raise SenderNotFound(f"Unassigned sender {sender_id} not found (registered already?)")
    identifier = body.identifier or sender.display
    if devices_repo.norm(identifier) not in {
        devices_repo.norm(i["value"]) for i in sender.identifiers
    }:
        raise Conflict(f"{identifier!r} is not one of this sender's identifiers")
    try:
        if body.device_id is None:
            assert body.name is not None
            created = await devices.register(
                db,
                DeviceCreate(name=body.name, model=body.model, hl7_ids=[identifier]),
                actor,
            )
            out = DeviceOut(**created.model_dump(exclude={"token"}))
        else:
            existing = (await devices_repo.ids_of(db, [body.device_id])).get(body.device_id, [])
            out = await devices.update(
                db, body.device_id, DevicePatch(hl7_ids=[*existing, identifier]), actor
            )
    except devices.DeviceNotFound as exc:  # the sender is there; the device named is not
        raise Conflict(str(exc)) from None
    await identifiers_registered(db, [identifier])
    await db.delete(sender)
    await audit.record(
        db,
        actor=actor,
        action="hl7.sender.register",
        entity="device",
        entity_id=out.id,
        detail={"sender_id": sender_id, "identifier": identifier},
    )
    return out


async def unmapped(db: AsyncSession) -> list[UnmappedOut]:
    return [
        UnmappedOut.model_validate(u, from_attributes=True) for u in await repository.unmapped(db)
    ]


async def session_alarms(db: AsyncSession, session_id: int) -> list[MonitorAlarmOut]:
    if await sessions_repo.get(db, session_id) is None:
        raise SessionNotFound(session_id)
    return await _views(db, await repository.session_alarms(db, session_id))


async def standing_alarms(db: AsyncSession, stands_s: float) -> list[MonitorAlarmOut]:
    """The monitor alarms standing now on the active sessions: per monitor and
    alarm code, the latest report, when it is not an end and came within
    `stands_s` (VITALWATCH_MONITOR_ALARM_STANDS_S: a monitor whose "end" was
    lost, or that went quiet, does not leave its alarm on the station for ever)."""
    latest: dict[tuple[int, int, str], MonitorAlarm] = {}
    for row in await repository.recent_reports(db, utcnow() - timedelta(seconds=stands_s)):
        latest[(row.session_id, row.device_id, row.code)] = row
    views = await _views(db, list(latest.values()))
    return [v for v in views if v.active]


async def _views(db: AsyncSession, rows: Sequence[MonitorAlarm]) -> list[MonitorAlarmOut]:
    names = {d.id: d.name for d in await devices_repo.by_ids(db, {r.device_id for r in rows})}
    return [
        MonitorAlarmOut.model_validate(
            alarm_view(r, names.get(r.device_id, f"device {r.device_id}"))
        )
        for r in rows
    ]
