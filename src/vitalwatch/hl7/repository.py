"""Queries of the HL7 domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.devices.models import Device
from vitalwatch.devices.repository import norm
from vitalwatch.hl7.models import Hl7Sender, Hl7Unmapped, MonitorAlarm
from vitalwatch.readings.models import readings
from vitalwatch.sessions.models import Patient, Session, SessionEvent
from vitalwatch.vitals import METRICS


async def forget_senders(db: AsyncSession, identifiers: Iterable[str]) -> None:
    """A registered identifier is no longer an unassigned sender."""
    await db.execute(delete(Hl7Sender).where(Hl7Sender.key.in_([norm(i) for i in identifiers])))


async def senders(db: AsyncSession, limit: int = 500) -> Sequence[Hl7Sender]:
    return (
        (await db.execute(select(Hl7Sender).order_by(Hl7Sender.last_seen.desc()).limit(limit)))
        .scalars()
        .all()
    )


async def sender(db: AsyncSession, sender_id: int) -> Hl7Sender | None:
    return await db.get(Hl7Sender, sender_id)


async def note_sender(
    db: AsyncSession,
    key: str,
    display: str,
    identifiers: list[dict[str, str]],
    address: str | None,
    seen: datetime,
    messages: int,
    sample: dict[str, Any],
) -> None:
    existing = (
        await db.execute(select(Hl7Sender).where(Hl7Sender.key == key))
    ).scalar_one_or_none()
    if existing is None:
        db.add(
            Hl7Sender(
                key=key,
                display=display,
                identifiers=identifiers,
                address=address,
                first_seen=seen,
                last_seen=seen,
                messages=messages,
                sample=sample,
            )
        )
    else:
        existing.identifiers = identifiers
        existing.address = address
        existing.last_seen = max(existing.last_seen, seen)
        existing.messages = existing.messages + messages
        existing.sample = sample


async def add_unmapped(db: AsyncSession, rows: dict[str, dict[str, Any]]) -> None:
    """Add counts to the unmapped rows (keyed by their sha1 key)."""
    if not rows:
        return
    found = {
        u.key: u
        for u in (
            await db.execute(select(Hl7Unmapped).where(Hl7Unmapped.key.in_(list(rows))))
        ).scalars()
    }
    for key, row in rows.items():
        hit = found.get(key)
        if hit is None:
            db.add(Hl7Unmapped(key=key, **row))
        else:
            hit.count = hit.count + row["count"]
            hit.last_seen = max(hit.last_seen, row["last_seen"])
            hit.example = row["example"]


async def unmapped(db: AsyncSession, limit: int = 1000) -> Sequence[Hl7Unmapped]:
    return (
        (
            await db.execute(
                select(Hl7Unmapped)
                .order_by(Hl7Unmapped.reason, Hl7Unmapped.count.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


async def patient_ref(db: AsyncSession, session_id: int) -> str | None:
    return await db.scalar(
        select(Patient.ref)
        .join(Session, Session.patient_id == Patient.id)
        .where(Session.id == session_id)
    )


async def report_known(
    db: AsyncSession, device_id: int, control_id: str, code: str, ts_ms: int
) -> bool:
    return (
        await db.scalar(
            select(MonitorAlarm.id).where(
                MonitorAlarm.device_id == device_id,
                MonitorAlarm.control_id == control_id,
                MonitorAlarm.code == code,
                MonitorAlarm.ts_ms == ts_ms,
            )
        )
    ) is not None


async def last_shown(
    db: AsyncSession, session_id: int, device_id: int, code: str
) -> MonitorAlarm | None:
    """The latest report of this alarm that the nurse was shown."""
    return (
        await db.execute(
            select(MonitorAlarm)
            .where(
                MonitorAlarm.session_id == session_id,
                MonitorAlarm.device_id == device_id,
                MonitorAlarm.code == code,
                MonitorAlarm.shown == 1,
            )
            .order_by(MonitorAlarm.ts_ms.desc(), MonitorAlarm.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def session_alarms(db: AsyncSession, session_id: int) -> Sequence[MonitorAlarm]:
    return (
        (
            await db.execute(
                select(MonitorAlarm)
                .where(MonitorAlarm.session_id == session_id, MonitorAlarm.shown == 1)
                .order_by(MonitorAlarm.ts_ms, MonitorAlarm.id)
            )
        )
        .scalars()
        .all()
    )


async def recent_reports(db: AsyncSession, since: datetime) -> Sequence[MonitorAlarm]:
    """Every report received since `since` on the active sessions, in the order
    the monitor sent them (the last one of each alarm says where it stands)."""
    return (
        (
            await db.execute(
                select(MonitorAlarm)
                .join(Session, Session.id == MonitorAlarm.session_id)
                .where(Session.status == "active", MonitorAlarm.received_at >= since)
                .order_by(MonitorAlarm.ts_ms, MonitorAlarm.id)
            )
        )
        .scalars()
        .all()
    )


async def warned(db: AsyncSession, session_id: int, detail: str) -> bool:
    return (
        await db.scalar(
            select(SessionEvent.id).where(
                SessionEvent.session_id == session_id,
                SessionEvent.kind == "monitor_warning",
                SessionEvent.detail == detail,
            )
        )
    ) is not None


async def set_timezone(db: AsyncSession, device_id: int, tz: str | None) -> None:
    await db.execute(update(Device).where(Device.id == device_id).values(hl7_timezone=tz))


async def retract(
    db: AsyncSession,
    session_id: int,
    device_id: int,
    items: list[tuple[str, int, int | None]],
) -> int:
    """Take back the stored values of (metric, ts_ms) of a device in its session,
    except the sample `seq` that replaces them (None: nothing does); a sample
    left with no value is deleted. How many values were taken back."""
    taken = 0
    for metric, ts_ms, keep in items:
        col = readings.c[metric]
        where = [
            readings.c.session_id == session_id,
            readings.c.device_id == device_id,
            readings.c.ts_ms == ts_ms,
            col.is_not(None),
        ]
        if keep is not None:
            where.append(readings.c.seq != keep)
        result = await db.execute(update(readings).where(*where).values({metric: None}))
        taken += int(result.rowcount or 0)  # type: ignore[attr-defined]
    for ts_ms in {ts for _, ts, _ in items}:
        empty = and_(*(readings.c[m].is_(None) for m in METRICS))
        await db.execute(
            delete(readings).where(
                readings.c.session_id == session_id,
                readings.c.device_id == device_id,
                readings.c.ts_ms == ts_ms,
                empty,
            )
        )
    return taken
