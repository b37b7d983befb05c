"""Queries on patients, sessions, their devices and the dosing timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vitalwatch.devices.models import Device, SessionDevice
from vitalwatch.patients.models import Patient
from vitalwatch.sessions.models import Session, SessionEvent


async def get(db: AsyncSession, session_id: int, *, for_update: bool = False) -> Session | None:
    stmt = select(Session).where(Session.id == session_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await db.execute(stmt)).scalar_one_or_none()


async def by_ids(db: AsyncSession, ids: set[int]) -> Sequence[Session]:
    return (await db.execute(select(Session).where(Session.id.in_(ids)))).scalars().all()


async def list_(db: AsyncSession, status: str | None, limit: int = 1000) -> Sequence[Session]:
    return await search(db, status=status, limit=limit)


def _contains(text: str) -> str:
    """A LIKE pattern for `text` anywhere, its wildcards taken literally (escape "\\")."""
    literal = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{literal}%"


async def search(
    db: AsyncSession,
    *,
    status: str | None = None,
    room: str | None = None,
    patient: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> Sequence[Session]:
    """Sessions, newest first: in `room` (any case), of `patient` (the reference, or
    part of the display name), and running at some time between `since` and `until`."""
    stmt = select(Session).order_by(Session.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Session.status == status)
    if room is not None:
        stmt = stmt.where(func.lower(Session.room) == room.lower())
    if patient is not None:
        stmt = stmt.join(Patient, Patient.id == Session.patient_id).where(
            or_(
                Patient.ref == patient,
                func.lower(Patient.display_name).like(_contains(patient), escape="\\"),
            )
        )
    if since is not None:
        stmt = stmt.where(or_(Session.ended_at.is_(None), Session.ended_at >= since))
    if until is not None:
        stmt = stmt.where(Session.started_at < until)
    return (await db.execute(stmt)).scalars().all()


def ended_before(cutoff: datetime) -> Select[int]:
    """The ids of sessions that ended before `cutoff` (readings retention)."""
    return select(Session.id).where(Session.status == "ended", Session.ended_at < cutoff)


async def list_for_patient(db: AsyncSession, patient_id: int) -> Sequence[Session]:
    stmt = select(Session).where(Session.patient_id == patient_id).order_by(Session.id.desc())
    return (await db.execute(stmt)).scalars().all()


async def active_since(db: AsyncSession, patient_id: int, since: datetime) -> Sequence[Session]:
    """The patient's active sessions started after `since` (a repeated start)."""
    stmt = select(Session).where(
        Session.patient_id == patient_id, Session.status == "active", Session.started_at >= since
    )
    return (await db.execute(stmt)).scalars().all()


async def devices_of(db: AsyncSession, session_ids: set[int]) -> dict[int, list[Device]]:
    """Devices that fed each session (still bound or not), in binding order."""
    stmt = (
        select(SessionDevice.session_id, Device)
        .join(Device, Device.id == SessionDevice.device_id)
        .where(SessionDevice.session_id.in_(session_ids))
        .order_by(SessionDevice.bound_at, Device.id)
    )
    out: dict[int, list[Device]] = {sid: [] for sid in session_ids}
    for sid, device in (await db.execute(stmt)).all():
        out[sid].append(device)
    return out


async def add_event(db: AsyncSession, event: SessionEvent) -> SessionEvent:
    db.add(event)
    await db.flush()
    return event


async def events(db: AsyncSession, session_id: int) -> Sequence[SessionEvent]:
    stmt = (
        select(SessionEvent)
        .where(SessionEvent.session_id == session_id)
        .order_by(SessionEvent.ts, SessionEvent.id)
    )
    return (await db.execute(stmt)).scalars().all()


# -- written by the group commit (readings/writer.py), on its connection --


async def note_on_timeline(conn: AsyncConnection, session_id: int, kind: str, detail: str) -> None:
    """A timeline entry written in the caller's Core transaction, dated now."""
    now = datetime.now(UTC)
    await conn.execute(
        insert(SessionEvent).values(
            session_id=session_id, kind=kind, ts=now, detail=detail, created_at=now
        )
    )
