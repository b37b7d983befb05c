"""Nurses' observations: sedation (MOAA/S), dissociation (or a CADSS score),
nausea, vomiting, respiratory depression and notes. A MOAA/S of 2 or below
raises the high "sedation" alarm through the session's alarm engine."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.db import on_commit
from vitalwatch.records import repository
from vitalwatch.records.errors import RecordConflict
from vitalwatch.records.models import Observation
from vitalwatch.records.schemas import ObservationIn, ObservationOut, ObservationSeries
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions import service as sessions_service
from vitalwatch.sessions.errors import SessionNotFound
from vitalwatch.sessions.service import SessionParts


async def add(
    db: AsyncSession, parts: SessionParts, session_id: int, body: ObservationIn, actor: audit.Actor
) -> ObservationOut:
    session = await sessions_repo.get(db, session_id, for_update=True)
    if session is None:
        raise SessionNotFound(session_id)
    if session.status != "active":
        raise RecordConflict(f"Session {session_id} has ended")
    skew_s = parts.settings.max_future_skew_s
    ts = sessions_service.event_time(skew_s, body.ts, not_before=session.started_at)
    obs = Observation(
        session_id=session_id,
        ts=ts,
        created_by=actor.name,
        **body.model_dump(exclude={"ts"}),
    )
    db.add(obs)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="observation.add",
        entity="session",
        entity_id=session_id,
        detail={"observation_id": obs.id, **body.model_dump(mode="json", exclude_none=True)},
    )
    if body.moass is not None:
        _, newest = (await repository.last_observation(db, [session_id])).get(
            session_id, (ts, None)
        )
        if newest is None or newest.id == obs.id:
            score = float(body.moass)

            async def _alarm() -> None:
                await parts.cluster.observe(session_id, "moaa_s", score, ts)

            on_commit(db, _alarm)
    await parts.views.show(db, [session])
    return ObservationOut.model_validate(obs)


async def list_(db: AsyncSession, session_id: int) -> list[ObservationOut]:
    if await sessions_repo.get(db, session_id) is None:
        raise SessionNotFound(session_id)
    return [ObservationOut.model_validate(o) for o in await repository.observations(db, session_id)]


async def series(db: AsyncSession, session_id: int, field: str) -> ObservationSeries:
    """One scored observation over time, in the shape of a readings series (trends)."""
    rows = [
        o for o in await repository.observations(db, session_id) if getattr(o, field) is not None
    ]
    if not rows and await sessions_repo.get(db, session_id) is None:
        raise SessionNotFound(session_id)
    return ObservationSeries(
        field=field, ts=[o.ts for o in rows], values=[float(getattr(o, field)) for o in rows]
    )
