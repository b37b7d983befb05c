"""SDC bindings and skipped values: the queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.sdc.models import SdcBinding, SdcSkipped


async def bindings(db: AsyncSession) -> dict[str, int]:
    """epr -> device id, for every binding."""
    rows = await db.execute(select(SdcBinding.epr, SdcBinding.device_id))
    return {epr: device_id for epr, device_id in rows.all()}


async def all_bindings(db: AsyncSession) -> list[SdcBinding]:
    rows = await db.execute(select(SdcBinding).order_by(SdcBinding.epr))
    return list(rows.scalars().all())


async def binding_of(db: AsyncSession, epr: str) -> SdcBinding | None:
    return await db.get(SdcBinding, epr)


async def binding_of_device(db: AsyncSession, device_id: int) -> SdcBinding | None:
    row = await db.execute(select(SdcBinding).where(SdcBinding.device_id == device_id))
    return row.scalar_one_or_none()


async def add_binding(db: AsyncSession, epr: str, device_id: int, by: str) -> SdcBinding:
    binding = SdcBinding(epr=epr, device_id=device_id, bound_by=by[:120])
    db.add(binding)
    await db.flush()
    return binding


async def add_skipped(
    db: AsyncSession, counts: dict[tuple[str, str, str], tuple[str | None, int, datetime]]
) -> None:
    """Add counts of skipped values: (epr, code, reason) -> (metric, count, last seen)."""
    for (epr, code, reason), (metric, count, at) in counts.items():
        row = await db.get(SdcSkipped, (epr, code, reason))
        if row is None:
            db.add(
                SdcSkipped(
                    epr=epr,
                    code=code,
                    reason=reason,
                    metric=metric,
                    count=count,
                    first_seen=at,
                    last_seen=at,
                )
            )
        else:
            row.count += count
            row.last_seen = at


async def skipped(db: AsyncSession) -> list[SdcSkipped]:
    rows = await db.execute(select(SdcSkipped).order_by(SdcSkipped.epr, SdcSkipped.code))
    return list(rows.scalars().all())
