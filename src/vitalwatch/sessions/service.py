"""Dosing sessions: start, view, timeline, thresholds, end.

Every change is audited and published as a `session` live event once it has
committed; the alarm engine is told about limits, doses and baselines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.alarms import service as alarms_service
from vitalwatch.alarms.news2 import news2
from vitalwatch.alarms.thresholds import (
    PROFILES,
    ThresholdError,
    Thresholds,
    ThresholdsPatch,
    defaults_for,
    merge,
)
from vitalwatch.audit import service as audit
from vitalwatch.context import AppContext
from vitalwatch.db import on_commit, utcnow
from vitalwatch.devices import repository as devices_repo
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.downsample import minmax_downsample
from vitalwatch.sessions import repository
from vitalwatch.sessions.models import Session, SessionEvent
from vitalwatch.sessions.schemas import (
    DeviceRef,
    EventCreate,
    EventOut,
    LatestValue,
    ManualPoint,
    News2Out,
    PatientOut,
    ReadingSeries,
    SessionCreate,
    SessionOut,
)
from vitalwatch.vitals import METRICS

#: Baseline windows of clinical.md: 10 min before the first dose, or the
#: first 5 min of the session while no dose has been given.
PRE_DOSE_WINDOW = timedelta(minutes=10)
NO_DOSE_WINDOW = timedelta(minutes=5)


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def not_found(session_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Session {session_id} not found")


def _threshold_error(
    exc: ValidationError, prefix: tuple[str | int, ...], sent: ThresholdsPatch | None
) -> RequestValidationError:
    """422 naming the field: of a contradicting pair, the one that was sent."""
    given = sent.model_dump(exclude_unset=True) if sent is not None else {}
    errors = []
    for e in exc.errors(include_url=False):
        loc, msg = tuple(e["loc"]), e["msg"]
        cause = e.get("ctx", {}).get("error")
        if isinstance(cause, ThresholdError):
            loc, msg = cause.loc, cause.msg
            metric, field = loc[0], loc[-1]
            if (
                cause.other
                and field not in given.get(metric, {})
                and cause.other in given.get(metric, {})
            ):
                loc = (metric, cause.other)
        errors.append({"type": e["type"], "loc": (*prefix, *loc), "msg": msg, "input": None})
    return RequestValidationError(errors)


def observation_until(session: Session) -> datetime | None:
    minutes = PROFILES[session.protocol].observation_min
    if session.first_dose_at is None or minutes is None:
        return None
    return session.first_dose_at + timedelta(minutes=minutes)


async def views(db: AsyncSession, ctx: AppContext, sessions: Sequence[Session]) -> list[SessionOut]:
    """Session objects as the contract shows them, built with a fixed number of queries."""
    if not sessions:
        return []
    ids = {s.id for s in sessions}
    patients = await repository.patients(db, {s.patient_id for s in sessions})
    devices = await repository.devices_of(db, ids)
    alarms = await alarms_service.views_for(db, ids)
    await ctx.latest.ensure_loaded(db, ids)
    out = []
    for s in sessions:
        latest = ctx.latest.get(s.id)
        score = news2(
            hr=latest.get("hr", (None,))[0],
            sbp=latest.get("sbp", (None,))[0],
            rr=latest.get("rr", (None,))[0],
            spo2=latest.get("spo2", (None,))[0],
        )
        bound = devices.get(s.id, [])
        patient = patients[s.patient_id]
        out.append(
            SessionOut(
                id=s.id,
                patient=PatientOut(ref=patient.ref, display_name=patient.display_name),
                protocol=s.protocol,  # type: ignore[arg-type]
                room=s.room,
                status=s.status,  # type: ignore[arg-type]
                started_at=s.started_at,
                ended_at=s.ended_at,
                ended_early=s.ended_early,
                first_dose_at=s.first_dose_at,
                observation_min=PROFILES[s.protocol].observation_min,
                observation_until=observation_until(s),
                devices=[DeviceRef(id=d.id, name=d.name) for d in bound],
                device_ids=[d.id for d in bound],
                thresholds=Thresholds.model_validate(s.thresholds),
                baseline={m: (s.baseline or {}).get(m) for m in METRICS},
                latest={m: LatestValue(value=v, ts=_from_ms(t)) for m, (v, t) in latest.items()},
                news2=News2Out(
                    score=score.score,
                    level=score.level,
                    any_three=score.any_three,
                    missing=list(score.missing),
                )
                if score is not None
                else None,
                alarms=alarms.get(s.id, []),
            )
        )
    return out


async def view(db: AsyncSession, ctx: AppContext, session: Session) -> SessionOut:
    return (await views(db, ctx, [session]))[0]


async def _publish(db: AsyncSession, ctx: AppContext, session: Session) -> SessionOut:
    """Tell the alarm engine and every dashboard, once the change has committed."""
    out = await view(db, ctx, session)
    _tell_evaluator(db, ctx, session.id)
    await ctx.hub.emit(db, "session", {"session": out.model_dump(mode="json")})
    return out


def _tell_evaluator(db: AsyncSession, ctx: AppContext, session_id: int) -> None:
    """Once committed, the process evaluating the session reloads it from the database."""

    async def _reload() -> None:
        await ctx.cluster.session_changed(session_id)

    on_commit(db, _reload)


async def _get_active(db: AsyncSession, session_id: int) -> Session:
    session = await repository.get(db, session_id, for_update=True)
    if session is None:
        raise not_found(session_id)
    if session.status != "active":
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"Session {session_id} has ended")
    return session


async def create(
    db: AsyncSession, ctx: AppContext, body: SessionCreate, actor: audit.Actor
) -> SessionOut:
    thresholds = defaults_for(body.protocol)
    if body.thresholds is not None:
        try:
            thresholds = merge(thresholds, body.thresholds)
        except ValidationError as exc:
            raise _threshold_error(exc, ("body", "thresholds"), body.thresholds) from None
    device_ids = list(dict.fromkeys(body.device_ids))
    found = {d.id: d for d in await devices_repo.by_ids(db, device_ids)}
    missing = [d for d in device_ids if d not in found or found[d].retired]
    if missing:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "device_ids", body.device_ids.index(d)),
                    "msg": f"device {d} does not exist",
                    "input": d,
                }
                for d in missing
            ]
        )
    patient = await repository.upsert_patient(db, body.patient.ref, body.patient.display_name)
    session = Session(
        patient_id=patient.id,
        protocol=body.protocol,
        room=body.room,
        status="active",
        thresholds=thresholds.model_dump(mode="json"),
        started_at=utcnow(),
        created_by=actor.id,
    )
    db.add(session)
    await db.flush()
    for device_id in device_ids:
        if not await devices_repo.bind(db, device_id, session.id):
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                detail=f"Device {device_id} ({found[device_id].name}) is already bound "
                "to an active session",
            )
        await repository.add_binding(db, session.id, device_id)
    await audit.record(
        db,
        actor=actor,
        action="session.start",
        entity="session",
        entity_id=session.id,
        detail={
            "protocol": body.protocol,
            "room": body.room,
            "device_ids": device_ids,
            "threshold_overrides": body.thresholds.model_dump(exclude_unset=True)
            if body.thresholds
            else None,
        },
    )
    return await _publish(db, ctx, session)


async def get(db: AsyncSession, ctx: AppContext, session_id: int) -> SessionOut:
    session = await repository.get(db, session_id)
    if session is None:
        raise not_found(session_id)
    return await view(db, ctx, session)


async def list_sessions(db: AsyncSession, ctx: AppContext, status_: str | None) -> list[SessionOut]:
    return await views(db, ctx, await repository.list_(db, status_))


async def compute_baseline(
    db: AsyncSession, session: Session, now: datetime
) -> dict[str, float | None] | None:
    """clinical.md's baseline: 10 min before the first dose, else the first 5 min."""
    if session.first_dose_at is not None:
        end = session.first_dose_at
        start = end - PRE_DOSE_WINDOW
    else:
        start = session.started_at
        end = start + NO_DOSE_WINDOW
        if now < end:
            return None
    values = await readings_repo.medians(db, session.id, _ms(start), _ms(end))
    return values if any(v is not None for v in values.values()) else None


async def add_event(
    db: AsyncSession, ctx: AppContext, session_id: int, body: EventCreate, actor: audit.Actor
) -> EventOut:
    session = await _get_active(db, session_id)
    now = utcnow()
    ts = body.ts.astimezone(UTC) if body.ts is not None else now
    if ts > now + timedelta(seconds=ctx.settings.max_future_skew_s):
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "ts"),
                    "msg": "ts is in the future",
                    "input": body.ts.isoformat() if body.ts else None,
                }
            ]
        )
    event = await repository.add_event(
        db,
        SessionEvent(
            session_id=session_id, kind=body.kind, ts=ts, detail=body.detail, created_by=actor.id
        ),
    )
    await audit.record(
        db,
        actor=actor,
        action=f"session.event.{body.kind}",
        entity="session",
        entity_id=session_id,
        detail={"event_id": event.id, "ts": ts.isoformat()},
    )
    if body.kind == "dose" and (session.first_dose_at is None or ts < session.first_dose_at):
        session.first_dose_at = ts
        session.baseline = await compute_baseline(db, session, now)
        await _publish(db, ctx, session)
    return EventOut.model_validate(event, from_attributes=True)


async def list_events(db: AsyncSession, session_id: int) -> list[EventOut]:
    if await repository.get(db, session_id) is None:
        raise not_found(session_id)
    return [
        EventOut.model_validate(e, from_attributes=True)
        for e in await repository.events(db, session_id)
    ]


async def patch_thresholds(
    db: AsyncSession, ctx: AppContext, session_id: int, patch: ThresholdsPatch, actor: audit.Actor
) -> Thresholds:
    session = await _get_active(db, session_id)
    old = Thresholds.model_validate(session.thresholds)
    try:
        new = merge(old, patch)
    except ValidationError as exc:
        raise _threshold_error(exc, ("body",), patch) from None
    session.thresholds = new.model_dump(mode="json")
    await audit.record(
        db,
        actor=actor,
        action="session.thresholds",
        entity="session",
        entity_id=session_id,
        detail={
            "old": old.model_dump(mode="json"),
            "new": session.thresholds,
            "patch": patch.model_dump(mode="json", exclude_unset=True),
        },
    )
    await _publish(db, ctx, session)
    return new


async def end(db: AsyncSession, ctx: AppContext, session_id: int, actor: audit.Actor) -> SessionOut:
    session = await _get_active(db, session_id)
    now = utcnow()
    until = observation_until(session)
    session.status = "ended"
    session.ended_at = now
    session.ended_by = actor.id
    session.ended_early = until is not None and now < until
    await devices_repo.unbind_session(db, session_id)
    await repository.close_bindings(db, session_id, now)
    detail: dict[str, Any] = {"ended_early": session.ended_early}
    if session.ended_early and until is not None:
        detail["observation_remaining_min"] = round((until - now).total_seconds() / 60, 1)
    await audit.record(
        db,
        actor=actor,
        action="session.end",
        entity="session",
        entity_id=session_id,
        detail=detail,
    )
    _tell_evaluator(db, ctx, session_id)  # its alarms resolve; the hub forgets its values
    out = await view(db, ctx, session)
    await ctx.hub.emit(db, "session", {"session": out.model_dump(mode="json")})
    return out


async def readings_series(
    db: AsyncSession,
    session_id: int,
    metric: str,
    since: datetime | None,
    until: datetime | None,
    max_points: int | None,
) -> ReadingSeries:
    if await repository.get(db, session_id) is None:
        raise not_found(session_id)
    since_ms, until_ms = _ms(since) if since else None, _ms(until) if until else None
    ts, values = await readings_repo.series(db, session_id, metric, since_ms, until_ms)
    if max_points is not None:
        ts, values = minmax_downsample(ts, values, max_points)
    manual = await readings_repo.manual_points(db, session_id, metric, since_ms, until_ms)
    return ReadingSeries(
        metric=metric,
        ts=[_from_ms(t) for t in ts.tolist()],
        values=values.tolist(),
        manual=[
            ManualPoint(ts=_from_ms(t), value=v, entry_id=i, entered_by=n) for t, v, i, n in manual
        ],
    )
