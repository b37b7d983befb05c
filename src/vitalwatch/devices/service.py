"""Device registration, token checks and last-seen tracking."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.audit import service as audit
from vitalwatch.auth.security import device_token_hash, new_device_token
from vitalwatch.db import on_commit, unit_of_work, utcnow
from vitalwatch.devices import repository
from vitalwatch.devices.models import Device
from vitalwatch.devices.schemas import (
    DeviceCreate,
    DeviceCreated,
    DeviceOut,
    DevicePatch,
    DeviceRetired,
)
from vitalwatch.errors import Conflict, NotFound

if TYPE_CHECKING:
    from vitalwatch.auth.directory import RevocationBus


class DeviceNotFound(NotFound):
    """No such device (or a retired one)."""


class Hl7IdTaken(Conflict):
    """An HL7 identifier belongs to another device already."""

    def __init__(self, identifier: str, device_id: int) -> None:
        super().__init__(f"HL7 identifier {identifier!r} belongs to device {device_id} already")


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    id: int
    name: str


class DeviceDirectory:
    """Device token -> device, cached so ingest does no lookup per request.

    Tokens never change; a cached entry lives `ttl_s` so a retired device is
    refused soon after. Last-seen times are kept here and flushed in bulk,
    rather than written on every sample.
    """

    def __init__(self, maker: async_sessionmaker[AsyncSession], ttl_s: float = 60.0) -> None:
        self._maker = maker
        self._ttl_s = ttl_s
        self._by_hash: dict[str, tuple[DeviceIdentity, float]] = {}
        self._last_seen: dict[int, datetime] = {}
        self._dirty: set[int] = set()
        #: Production mode: rotations and retirements announced to the other processes.
        self.bus: RevocationBus | None = None

    async def resolve(self, token: str) -> DeviceIdentity | None:
        token_hash = device_token_hash(token)
        hit = self._by_hash.get(token_hash)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        async with unit_of_work(self._maker) as db:
            device = await repository.by_token_hash(db, token_hash)
        if device is None:
            self._by_hash.pop(token_hash, None)
            return None
        identity = DeviceIdentity(device.id, device.name)
        self._by_hash[token_hash] = (identity, now + self._ttl_s)
        return identity

    def forget_token(self, token_hash: str) -> None:
        """A device's token was rotated or the device retired: refuse it at once."""
        self._by_hash.pop(token_hash, None)

    async def revoked(self, token_hash: str) -> None:
        """Refuse this token here now, and on the other processes (production mode)."""
        self.forget_token(token_hash)
        if self.bus is not None:
            await self.bus.publish(f"device:{token_hash}")

    def seen(self, device_id: int, at: datetime) -> None:
        self._last_seen[device_id] = at
        self._dirty.add(device_id)

    def last_seen(self, device_id: int) -> datetime | None:
        return self._last_seen.get(device_id)

    async def flush(self) -> None:
        """Write the last-seen times gathered since the previous flush."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        async with unit_of_work(self._maker) as db:
            await repository.set_last_seen(db, {d: self._last_seen[d] for d in dirty})


def to_out(
    device: Device, directory: DeviceDirectory | None = None, hl7_ids: list[str] | None = None
) -> DeviceOut:
    seen = directory.last_seen(device.id) if directory else None
    last_seen = max((t for t in (seen, device.last_seen) if t is not None), default=None)
    return DeviceOut(
        id=device.id,
        name=device.name,
        model=device.model,
        last_seen=last_seen,
        session_id=device.session_id,
        counter_resets=device.counter_resets or 0,
        counter_reset_at=device.counter_reset_at,
        hl7_ids=hl7_ids or [],
        hl7_timezone=device.hl7_timezone,
        retired=device.retired,
        retired_at=device.retired_at,
    )


async def _claim_ids(db: AsyncSession, device_id: int | None, identifiers: list[str]) -> None:
    """Raise Hl7IdTaken when another device holds one of the identifiers."""
    for ident, owner in (await repository.owners(db, identifiers)).items():
        if owner != device_id:
            shown = next(i for i in identifiers if repository.norm(i) == ident)
            raise Hl7IdTaken(shown, owner)


async def register(db: AsyncSession, body: DeviceCreate, actor: audit.Actor) -> DeviceCreated:
    """A new device; its HL7 identifiers, when given, must be nobody else's."""
    await _claim_ids(db, None, body.hl7_ids)
    token = new_device_token()
    device = await repository.add(
        db,
        Device(
            name=body.name,
            model=body.model,
            token_hash=device_token_hash(token),
            hl7_timezone=body.hl7_timezone,
        ),
    )
    if body.hl7_ids:
        await repository.set_ids(db, device.id, body.hl7_ids)
    await audit.record(
        db,
        actor=actor,
        action="device.register",
        entity="device",
        entity_id=device.id,
        detail={"name": body.name, "model": body.model, "hl7_ids": body.hl7_ids or None},
    )
    ids = (await repository.ids_of(db, [device.id])).get(device.id, [])
    return DeviceCreated(**to_out(device, hl7_ids=ids).model_dump(), token=token)


async def update(
    db: AsyncSession, device_id: int, body: DevicePatch, actor: audit.Actor
) -> DeviceOut:
    device = await db.get(Device, device_id)
    if device is None or device.retired or device.kind != "monitor":
        raise DeviceNotFound(f"Device {device_id} not found")
    given = body.model_dump(exclude_unset=True)
    old_ids = (await repository.ids_of(db, [device_id])).get(device_id, [])
    old = {
        "name": device.name,
        "model": device.model,
        "hl7_ids": old_ids,
        "hl7_timezone": device.hl7_timezone,
    }
    if body.hl7_ids is not None:
        await _claim_ids(db, device_id, body.hl7_ids)
        await repository.set_ids(db, device_id, body.hl7_ids)
    if "name" in given and body.name is not None:
        device.name = body.name
    if "model" in given:
        device.model = body.model
    if "hl7_timezone" in given:
        device.hl7_timezone = body.hl7_timezone
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="device.update",
        entity="device",
        entity_id=device_id,
        detail={"old": old, "new": given},
    )
    ids = (await repository.ids_of(db, [device_id])).get(device_id, [])
    return to_out(device, hl7_ids=ids)


async def list_devices(
    db: AsyncSession, directory: DeviceDirectory, include_retired: bool = False
) -> list[DeviceOut]:
    devices = await repository.list_all(db, include_retired)
    ids = await repository.ids_of(db, [d.id for d in devices])
    return [to_out(d, directory, ids.get(d.id)) for d in devices]


class DeviceRetiredError(Conflict):
    """The device is retired: it cannot be changed or given a token again."""


async def _live_device(db: AsyncSession, device_id: int) -> Device:
    device = await repository.by_id(db, device_id)
    if device is None:
        raise DeviceNotFound(f"No device {device_id}")
    if device.retired:
        raise DeviceRetiredError(f"Device {device_id} is retired")
    return device


def _revoke_on_commit(db: AsyncSession, directory: DeviceDirectory, token_hash: str) -> None:
    async def revoke() -> None:
        await directory.revoked(token_hash)

    on_commit(db, revoke)


async def rotate(
    db: AsyncSession, device_id: int, directory: DeviceDirectory, actor: audit.Actor
) -> DeviceCreated:
    """A new token for the device (shown once); the old one is refused at once."""
    device = await _live_device(db, device_id)
    old_hash = device.token_hash
    token = new_device_token()
    device.token_hash = device_token_hash(token)
    _revoke_on_commit(db, directory, old_hash)
    await audit.record(
        db, actor=actor, action="device.rotate", entity="device", entity_id=device.id
    )
    ids = (await repository.ids_of(db, [device.id])).get(device.id)
    return DeviceCreated(**to_out(device, directory, ids).model_dump(), token=token)


async def retire(
    db: AsyncSession, device_id: int, directory: DeviceDirectory, actor: audit.Actor
) -> DeviceRetired:
    """Retire a monitor for good: its token is refused at once and, if it was in a
    session, it is taken out of it (the session goes on with its other monitors)."""
    device = await _live_device(db, device_id)
    released = device.session_id
    device.retired = True
    device.retired_at = utcnow()
    device.session_id = None
    _revoke_on_commit(db, directory, device.token_hash)
    await audit.record(
        db,
        actor=actor,
        action="device.retire",
        entity="device",
        entity_id=device.id,
        detail={"session_id": released} if released is not None else None,
    )
    ids = (await repository.ids_of(db, [device.id])).get(device.id)
    out = to_out(device, directory, ids)
    return DeviceRetired(**out.model_dump(), released_session_id=released)
