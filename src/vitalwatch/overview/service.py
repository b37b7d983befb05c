"""A session as staff see it, composed above the domains it draws on: the
session's record, its monitors, latest values and NEWS2, its alarms and its
discharge readiness, built with a fixed number of queries however many
sessions are shown. `SessionViews` is the sessions domain's port for showing
a changed session to every dashboard again; `Ward` is the read model a
dashboard's snapshot is built from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.alarms import service as alarms_service
from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.config import Settings
from vitalwatch.db import from_ms
from vitalwatch.overview.schemas import SessionOut
from vitalwatch.patients import repository as patients_repo
from vitalwatch.patients.schemas import PatientOut
from vitalwatch.readings.latest import LatestStore
from vitalwatch.readings.news2 import news2
from vitalwatch.records import readiness
from vitalwatch.sessions import repository
from vitalwatch.sessions.alarms_off import alarms_off
from vitalwatch.sessions.errors import SessionNotFound
from vitalwatch.sessions.models import Session
from vitalwatch.sessions.ports import LiveEvents
from vitalwatch.sessions.schemas import DeviceRef, LatestValue, News2Out
from vitalwatch.sessions.thresholds import Thresholds
from vitalwatch.vitals import METRICS, PROFILES


async def views(
    db: AsyncSession, latest: LatestStore, settings: Settings, sessions: Sequence[Session]
) -> list[SessionOut]:
    """Session objects as the contract shows them, built with a fixed number of queries."""
    if not sessions:
        return []
    ids = {s.id for s in sessions}
    patients = await patients_repo.by_ids(db, {s.patient_id for s in sessions})
    devices = await repository.devices_of(db, ids)
    alarms = await alarms_service.views_for(db, ids)
    await latest.ensure_loaded(db, ids)
    ready = await readiness.compute(db, latest, settings.tz, sessions)
    out = []
    for s in sessions:
        values = latest.get(s.id)
        score = news2(
            hr=values.get("hr", (None,))[0],
            sbp=values.get("sbp", (None,))[0],
            rr=values.get("rr", (None,))[0],
            spo2=values.get("spo2", (None,))[0],
        )
        bound = devices.get(s.id, [])
        patient = patients[s.patient_id]
        thresholds = Thresholds.model_validate(s.thresholds)
        out.append(
            SessionOut(
                id=s.id,
                patient=PatientOut.model_validate(patient),
                protocol=s.protocol,  # type: ignore[arg-type]
                room=s.room,
                status=s.status,  # type: ignore[arg-type]
                started_at=s.started_at,
                ended_at=s.ended_at,
                ended_early=s.ended_early,
                first_dose_at=s.first_dose_at,
                observation_min=PROFILES[s.protocol].observation_min,
                observation_until=ready[s.id].observation_until,  # the one clock: readiness's
                devices=[DeviceRef(id=d.id, name=d.name) for d in bound],
                device_ids=[d.id for d in bound],
                thresholds=thresholds,
                baseline={m: (s.baseline or {}).get(m) for m in METRICS},
                latest={m: LatestValue(value=v, ts=from_ms(t)) for m, (v, t) in values.items()},
                news2=News2Out(
                    score=score.score,
                    level=score.level,
                    any_three=score.any_three,
                    missing=list(score.missing),
                )
                if score is not None
                else None,
                alarms=alarms.get(s.id, []),
                alarms_off=alarms_off(s.protocol, thresholds, settings.max_sustain_s),
                readiness=ready[s.id],
            )
        )
    return out


async def view(
    db: AsyncSession, latest: LatestStore, settings: Settings, session: Session
) -> SessionOut:
    return (await views(db, latest, settings, [session]))[0]


async def get(
    db: AsyncSession, latest: LatestStore, settings: Settings, session_id: int
) -> SessionOut:
    session = await repository.get(db, session_id)
    if session is None:
        raise SessionNotFound(session_id)
    return await view(db, latest, settings, session)


async def list_sessions(
    db: AsyncSession,
    latest: LatestStore,
    settings: Settings,
    status_: str | None,
    *,
    room: str | None = None,
    patient: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[SessionOut]:
    found = await repository.search(
        db, status=status_, room=room, patient=patient, since=since, until=until, limit=limit
    )
    return await views(db, latest, settings, found)


@dataclass(frozen=True)
class SessionViews:
    """The sessions domain's `SessionViews` port: a changed session, composed,
    as a `session` live event in the caller's transaction."""

    latest: LatestStore
    settings: Settings
    events: LiveEvents

    async def show(self, db: AsyncSession, sessions: Sequence[Session]) -> None:
        await db.flush()
        for out in await views(db, self.latest, self.settings, sessions):
            await self.events.emit(db, "session", {"session": out.model_dump(mode="json")})


@dataclass(frozen=True)
class WardState:
    """Every active session as staff see it, and every open alarm of the ward
    (the sessions' and the station's own), newest first."""

    sessions: list[SessionOut]
    alarms: list[AlarmOut]


@dataclass(frozen=True)
class Ward:
    """The ward as a dashboard opens on it: the read model live/ takes, so the
    latest values (readings/) stay behind the overview domain."""

    latest: LatestStore
    settings: Settings

    async def state(self, db: AsyncSession) -> WardState:
        active = await repository.list_(db, "active")
        sessions = await views(db, self.latest, self.settings, active)
        station = await alarms_service.station_alarms(db)
        alarms = sorted(
            (*(a for v in sessions for a in v.alarms), *station),
            key=lambda a: a.raised_at,
            reverse=True,
        )
        return WardState(sessions, alarms)
