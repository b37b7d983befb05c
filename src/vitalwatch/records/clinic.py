"""The clinic's profile: the healthcare setting a record names (the REMS
form's setting fields, the report's heading) and the report's vitals table
interval. One row, edited by an admin and audited; the time zone is the
service's setting (VITALWATCH_CLINIC_TIMEZONE), shown beside it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.db import utcnow
from vitalwatch.records import repository
from vitalwatch.records.models import ClinicProfile
from vitalwatch.records.schemas import ClinicIn, ClinicOut

_FIELDS = tuple(ClinicIn.model_fields)


def out(row: ClinicProfile | None, tz: ZoneInfo) -> ClinicOut:
    if row is None:
        return ClinicOut(time_zone=str(tz))
    return ClinicOut(
        **{f: getattr(row, f) for f in _FIELDS},
        time_zone=str(tz),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def get(db: AsyncSession, tz: ZoneInfo) -> ClinicOut:
    return out(await repository.clinic_profile(db), tz)


#: where a record's clinic name comes from while the profile has none
SETTING_SOURCE = "VITALWATCH_CLINIC_NAME (the clinic profile has no name yet)"


async def in_use(db: AsyncSession, tz: ZoneInfo, default_name: str) -> tuple[ClinicOut, str]:
    """The clinic as the records and the FHIR export name it, and where its name
    is from: the profile's name, or `default_name` (VITALWATCH_CLINIC_NAME) until
    an admin has filled the profile in."""
    c = await get(db, tz)
    if c.name:
        return c, "clinic profile"
    return c.model_copy(update={"name": default_name}), SETTING_SOURCE


async def save(db: AsyncSession, body: ClinicIn, actor: audit.Actor, tz: ZoneInfo) -> ClinicOut:
    """Replace the profile (every field: what is left out is cleared)."""
    row = await repository.clinic_profile(db)
    old = out(row, tz).model_dump(include=set(_FIELDS))
    if row is None:
        row = ClinicProfile(id=1)
        db.add(row)
    for name, value in body.model_dump().items():
        setattr(row, name, value.strip() if isinstance(value, str) else value)
    row.updated_at, row.updated_by = utcnow(), actor.name
    await audit.record(
        db,
        actor=actor,
        action="clinic.update",
        entity="clinic",
        entity_id=None,
        detail={"old": old, "new": body.model_dump()},
    )
    await db.flush()
    return out(row, tz)


def address_lines(c: ClinicOut) -> list[str]:
    """The setting's name and address as printed on a record (empty lines left out)."""
    place = " ".join(p for p in (c.state, c.zip) if p)
    city = ", ".join(p for p in (c.city, place) if p)
    return [line for line in (c.name, c.address1, c.address2, city) if line]
