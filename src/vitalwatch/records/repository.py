"""Queries of the records domain (and its reads of the timeline); readings come
from readings/repository.py, which alone knows which are in force."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit.models import AuditEntry
from vitalwatch.readings.models import readings
from vitalwatch.readings.repository import in_force
from vitalwatch.records.models import (
    ChecklistEntry,
    ClinicProfile,
    Observation,
    RecordProfile,
    RemsForm,
    SessionReadiness,
)
from vitalwatch.sessions.models import Session, SessionEvent


async def profile_versions(db: AsyncSession, protocols: Iterable[str]) -> Sequence[RecordProfile]:
    stmt = (
        select(RecordProfile)
        .where(RecordProfile.protocol.in_(list(protocols)))
        .order_by(RecordProfile.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def checklist_entries(db: AsyncSession, session_id: int) -> dict[str, ChecklistEntry]:
    stmt = select(ChecklistEntry).where(ChecklistEntry.session_id == session_id)
    return {e.item_key: e for e in (await db.execute(stmt)).scalars()}


async def observations(db: AsyncSession, session_id: int) -> Sequence[Observation]:
    stmt = (
        select(Observation)
        .where(Observation.session_id == session_id)
        .order_by(Observation.ts, Observation.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def observations_of(
    db: AsyncSession, session_ids: Iterable[int]
) -> dict[int, list[Observation]]:
    out: dict[int, list[Observation]] = {}
    stmt = (
        select(Observation)
        .where(Observation.session_id.in_(list(session_ids)))
        .order_by(Observation.ts, Observation.id)
    )
    for o in (await db.execute(stmt)).scalars():
        out.setdefault(o.session_id, []).append(o)
    return out


async def last_observation(
    db: AsyncSession, session_ids: Iterable[int]
) -> dict[int, tuple[datetime, Observation | None]]:
    """Per session: when the newest observation round was recorded, and the newest
    MOAA/S observation."""
    ids = list(session_ids)
    newest = dict(
        (
            await db.execute(
                select(Observation.session_id, func.max(Observation.created_at))
                .where(Observation.session_id.in_(ids))
                .group_by(Observation.session_id)
            )
        ).all()
    )
    last_moass = (
        select(Observation.session_id, func.max(Observation.id).label("oid"))
        .where(Observation.session_id.in_(ids), Observation.moass.is_not(None))
        .group_by(Observation.session_id)
        .subquery()
    )
    moass = {
        o.session_id: o
        for o in (
            await db.execute(
                select(Observation).join(last_moass, Observation.id == last_moass.c.oid)
            )
        ).scalars()
    }
    return {sid: (ts, moass.get(sid)) for sid, ts in newest.items()}


async def readiness_rows(
    db: AsyncSession, session_ids: Iterable[int], *, for_update: bool = False
) -> dict[int, SessionReadiness]:
    stmt = select(SessionReadiness).where(SessionReadiness.session_id.in_(list(session_ids)))
    if for_update:
        stmt = stmt.with_for_update()
    return {r.session_id: r for r in (await db.execute(stmt)).scalars()}


async def doses_of(db: AsyncSession, session_ids: Iterable[int]) -> dict[int, list[SessionEvent]]:
    stmt = (
        select(SessionEvent)
        .where(SessionEvent.session_id.in_(list(session_ids)), SessionEvent.kind == "dose")
        .order_by(SessionEvent.ts, SessionEvent.id)
    )
    out: dict[int, list[SessionEvent]] = {}
    for e in (await db.execute(stmt)).scalars():
        out.setdefault(e.session_id, []).append(e)
    return out


async def dose_event(db: AsyncSession, session_id: int, event_id: int) -> SessionEvent | None:
    stmt = select(SessionEvent).where(
        SessionEvent.id == event_id, SessionEvent.session_id == session_id
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def rems_form(db: AsyncSession, session_id: int) -> RemsForm | None:
    return await db.get(RemsForm, session_id)


async def rems_forms(db: AsyncSession, session_ids: Iterable[int]) -> dict[int, RemsForm]:
    stmt = select(RemsForm).where(RemsForm.session_id.in_(list(session_ids)))
    return {f.session_id: f for f in (await db.execute(stmt)).scalars()}


async def audit_of(
    db: AsyncSession, session_id: int, actions: Iterable[str]
) -> Sequence[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(
            AuditEntry.entity == "session",
            AuditEntry.entity_id == session_id,
            AuditEntry.action.in_(list(actions)),
        )
        .order_by(AuditEntry.id)
    )
    return (await db.execute(stmt)).scalars().all()


async def dosed_sessions(db: AsyncSession, protocol: str, since: datetime) -> Sequence[Session]:
    stmt = (
        select(Session)
        .where(Session.protocol == protocol, Session.first_dose_at >= since)
        .order_by(Session.first_dose_at)
    )
    return (await db.execute(stmt)).scalars().all()


async def clinic_profile(db: AsyncSession) -> ClinicProfile | None:
    return await db.get(ClinicProfile, 1)


async def last_values(
    db: AsyncSession, session_id: int, until_ms: int, since_ms: int
) -> dict[str, tuple[int, float]]:
    """The newest value in force of each metric in [since_ms, until_ms] (ts_ms,
    value), the metrics without one left out: what "vital signs acceptable" judges."""
    c = readings.c
    out: dict[str, tuple[int, float]] = {}
    for metric in ("hr", "sbp", "dbp", "spo2", "rr"):
        col = c[metric]
        row = (
            await db.execute(
                select(c.ts_ms, col)
                .where(
                    *in_force([session_id]),
                    c.ts_ms <= until_ms,
                    c.ts_ms >= since_ms,
                    col.is_not(None),
                )
                .order_by(c.ts_ms.desc(), c.id.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            out[metric] = (int(row[0]), float(row[1]))
    return out
