"""Dosing sessions: start, view, timeline, thresholds, end.

Every change is audited and published as a `session` live event once it has
committed; the alarm engine is told about limits, doses and baselines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.config import Settings
from vitalwatch.db import from_ms, on_commit, to_ms, utcnow
from vitalwatch.devices import repository as devices_repo
from vitalwatch.errors import Invalid
from vitalwatch.patients import repository as patients_repo
from vitalwatch.patients import service as patients_service
from vitalwatch.patients.models import Patient
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.downsample import minmax_downsample
from vitalwatch.readings.latest import LatestStore
from vitalwatch.sessions import observation, repository
from vitalwatch.sessions.alarms_off import alarms_off, timeline_details
from vitalwatch.sessions.baseline import compute_baseline
from vitalwatch.sessions.errors import DeviceBusy, SessionEnded, SessionNotFound
from vitalwatch.sessions.models import Session, SessionEvent
from vitalwatch.sessions.ports import Evaluators, LiveEvents, SessionViews
from vitalwatch.sessions.schemas import (
    DoseRecord,
    EventCreate,
    EventMonitorAlarm,
    EventOut,
    ManualPoint,
    ProtocolOut,
    ReadingSeries,
    SessionCreate,
    ThresholdsChange,
    Trends,
    TrendSeries,
)
from vitalwatch.sessions.thresholds import (
    ThresholdError,
    Thresholds,
    ThresholdsPatch,
    defaults_for,
    merge,
)
from vitalwatch.vitals import PROFILES, PROTOCOLS

#: How far back a session may be entered as having begun (a monitor connected
#: late, a clinic's history replayed by the demo): one shift.
MAX_BACKDATE = timedelta(hours=12)


@dataclass(frozen=True)
class SessionParts:
    """What a change to a session needs besides the database: the settings (clock
    skew, alarm delay cap, the clinic's zone), the latest values, the live
    stream, the evaluators (the cluster) and the session as dashboards show it
    (the overview domain, which composes it with its alarms and readiness)."""

    settings: Settings
    latest: LatestStore
    events: LiveEvents
    cluster: Evaluators
    views: SessionViews


def _bad_time(field: tuple[str, ...], msg: str, value: datetime | None) -> Invalid:
    return Invalid(
        [
            {
                "type": "value_error",
                "loc": ("body", *field),
                "msg": msg,
                "input": value.isoformat() if value else None,
            }
        ]
    )


def _started_at(body: SessionCreate, now: datetime, max_future_s: float) -> datetime:
    """The session's start: now, or the earlier time sent (bounded)."""
    if body.started_at is None:
        return now
    started = body.started_at.astimezone(UTC)
    if started > now + timedelta(seconds=max_future_s):
        raise _bad_time(("started_at",), "started_at is in the future", body.started_at)
    if started < now - MAX_BACKDATE:
        hours = MAX_BACKDATE.total_seconds() / 3600
        raise _bad_time(
            ("started_at",), f"started_at is more than {hours:.0f} h ago", body.started_at
        )
    return min(started, now)


def _threshold_error(
    exc: ValidationError, prefix: tuple[str | int, ...], sent: ThresholdsPatch | None
) -> Invalid:
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
    return Invalid(errors)


async def _publish(db: AsyncSession, parts: SessionParts, session: Session) -> None:
    """Tell the alarm engine and every dashboard, once the change has committed."""
    _tell_evaluator(db, parts.cluster, session.id)
    await parts.views.show(db, [session])


def _tell_evaluator(db: AsyncSession, cluster: Evaluators, session_id: int) -> None:
    """Once committed, the process evaluating the session reloads it from the database."""

    async def _reload() -> None:
        await cluster.session_changed(session_id)

    on_commit(db, _reload)


async def monitor_released(db: AsyncSession, parts: SessionParts, session_id: int) -> None:
    """A monitor left an active session without a session change (it was retired):
    its evaluator drops it (its alarms end as "Monitor unbound") and every
    dashboard gets the session again, once the change commits."""
    session = await repository.get(db, session_id)
    if session is not None and session.status == "active":
        await db.flush()
        await _publish(db, parts, session)


async def _get_active(db: AsyncSession, session_id: int) -> Session:
    session = await repository.get(db, session_id, for_update=True)
    if session is None:
        raise SessionNotFound(session_id)
    if session.status != "active":
        raise SessionEnded(session_id)
    return session


#: A start repeated within this time (a double click, a retried request) with the
#: same patient, protocol, room and monitors returns the session already started.
REPEAT_WINDOW = timedelta(seconds=60)


async def _patient_of(db: AsyncSession, body: SessionCreate, actor: audit.Actor) -> Patient:
    """Picked by id, or by reference (created when new); raises the patients' errors."""
    if body.patient is not None:
        return await patients_service.pick_or_create(db, body.patient, actor)
    assert body.patient_id is not None
    patient = await patients_repo.get(db, body.patient_id, for_update=True)
    if patient is None:
        raise Invalid(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "patient_id"),
                    "msg": f"patient {body.patient_id} does not exist",
                    "input": body.patient_id,
                }
            ]
        )
    return patient


async def _repeated_start(
    db: AsyncSession, patient: Patient, body: SessionCreate, device_ids: list[int]
) -> Session | None:
    """The session this request already started, if it is a repeat. The patient's
    row is locked, so of two simultaneous starts the second sees the first."""
    recent = await repository.active_since(db, patient.id, utcnow() - REPEAT_WINDOW)
    if not recent:
        return None
    bound = await repository.devices_of(db, {s.id for s in recent})
    for s in recent:
        same_devices = sorted(d.id for d in bound[s.id]) == sorted(device_ids)
        if s.protocol == body.protocol and s.room == body.room and same_devices:
            return s
    return None


async def create(
    db: AsyncSession, parts: SessionParts, body: SessionCreate, actor: audit.Actor
) -> tuple[Session, bool]:
    """The new session and True; or a repeated start's session and False."""
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
        raise Invalid(
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
    now = utcnow()
    started_at = _started_at(body, now, parts.settings.max_future_skew_s)
    patient = await _patient_of(db, body, actor)
    repeat = await _repeated_start(db, patient, body, device_ids)
    if repeat is not None:
        return repeat, False
    session = Session(
        patient_id=patient.id,
        protocol=body.protocol,
        room=body.room,
        status="active",
        thresholds=thresholds.model_dump(mode="json"),
        started_at=started_at,
        recorded_at=now,
        created_by=actor.id,
    )
    db.add(session)
    await db.flush()
    for device_id in device_ids:
        if not await devices_repo.bind(db, device_id, session.id):
            raise DeviceBusy(device_id, found[device_id].name)
        await devices_repo.add_binding(db, session.id, device_id)
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
            "patient_id": patient.id,
            "threshold_overrides": body.thresholds.model_dump(exclude_unset=True)
            if body.thresholds
            else None,
            # entered after it began: when, by the account of whoever entered it
            **({"started_at": started_at.isoformat()} if body.started_at is not None else {}),
        },
    )
    await _publish(db, parts, session)
    return session, True


def protocols(max_sustain_s: float) -> list[ProtocolOut]:
    """The protocols in the clinic's words, with the limits a session starts from."""
    return [
        ProtocolOut(
            name=name,
            label=PROFILES[name].label,
            observation_min=PROFILES[name].observation_min,
            thresholds=defaults_for(name),
            max_sustain_s=max_sustain_s,
        )
        for name in PROTOCOLS
    ]


def event_time(
    max_future_skew_s: float,
    sent: datetime | None,
    loc: str = "ts",
    not_before: datetime | None = None,
) -> datetime:
    """A staff-given time in UTC (now when left out); 422 when more than
    `max_future_skew_s` in the future or, given `not_before` (the session's
    start), before it."""
    now = utcnow()
    ts = sent.astimezone(UTC) if sent is not None else now
    if ts > now + timedelta(seconds=max_future_skew_s):
        raise _bad_time((loc,), f"{loc} is in the future", sent)
    if not_before is not None and ts < not_before:
        raise _bad_time(
            (loc,), f"{loc} is before the session started ({not_before.isoformat()})", sent
        )
    return ts


def event_out(event: SessionEvent) -> EventOut:
    out = EventOut.model_validate(event, from_attributes=True)
    if event.data is not None and event.kind == "dose":
        out.dose = DoseRecord.model_validate(event.data)
    elif event.data is not None and event.kind == "monitor_alarm":
        out.monitor_alarm = EventMonitorAlarm.model_validate(event.data)
    return out


async def add_event(
    db: AsyncSession,
    parts: SessionParts,
    session_id: int,
    body: EventCreate,
    actor: audit.Actor,
    data: dict[str, Any] | None = None,
) -> EventOut:
    """`data`: a dose's details (records/doses.py builds them)."""
    session = await _get_active(db, session_id)
    now = utcnow()
    ts = event_time(parts.settings.max_future_skew_s, body.ts, not_before=session.started_at)
    event = await repository.add_event(
        db,
        SessionEvent(
            session_id=session_id,
            kind=body.kind,
            ts=ts,
            detail=body.detail,
            data=data,
            created_by=actor.id,
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
        await _publish(db, parts, session)
    return event_out(event)


async def list_events(db: AsyncSession, session_id: int) -> list[EventOut]:
    if await repository.get(db, session_id) is None:
        raise SessionNotFound(session_id)
    return [event_out(e) for e in await repository.events(db, session_id)]


async def patch_thresholds(
    db: AsyncSession,
    parts: SessionParts,
    session_id: int,
    change: ThresholdsChange,
    actor: audit.Actor,
) -> Thresholds:
    """Merge the limits; an alarm switched off (or back on) is also on the timeline."""
    session = await _get_active(db, session_id)
    patch = change.limits()
    old = Thresholds.model_validate(session.thresholds)
    try:
        new = merge(old, patch)
    except ValidationError as exc:
        raise _threshold_error(exc, ("body",), patch) from None
    session.thresholds = new.model_dump(mode="json")
    max_s = parts.settings.max_sustain_s
    off_before = alarms_off(session.protocol, old, max_s)
    off_after = alarms_off(session.protocol, new, max_s)
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
            "reason": change.reason,
            "alarms_off": [a.label for a in off_after],
        },
    )
    now = utcnow()
    for kind, detail in timeline_details(off_before, off_after, change.reason):
        await repository.add_event(
            db,
            SessionEvent(
                session_id=session_id, kind=kind, ts=now, detail=detail, created_by=actor.id
            ),
        )
    await _publish(db, parts, session)
    return new


async def end(
    db: AsyncSession, parts: SessionParts, session_id: int, actor: audit.Actor
) -> Session:
    session = await _get_active(db, session_id)
    now = utcnow()
    until = observation.observation_until(
        session, observation.doses(await repository.events(db, session_id))
    )
    session.status = "ended"
    session.ended_at = now
    session.ended_by = actor.id
    session.ended_early = until is not None and now < until
    await devices_repo.unbind_session(db, session_id)
    await devices_repo.close_bindings(db, session_id, now)
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
    await _publish(db, parts, session)  # its alarms resolve; the hub forgets its values
    return session


async def trends(
    db: AsyncSession,
    session_ids: list[int],
    metrics: list[str],
    since: datetime | None,
    max_points: int | None,
) -> Trends:
    """Several sessions' series at once (the tiles' trend lines on page load)."""
    known = {s.id for s in await repository.by_ids(db, set(session_ids))}
    missing = [sid for sid in session_ids if sid not in known]
    if missing:
        raise SessionNotFound(missing[0])
    items = []
    for sid in dict.fromkeys(session_ids):
        for metric in dict.fromkeys(metrics):
            ts, values = await _series(db, sid, metric, since, None, max_points)
            items.append(TrendSeries(session_id=sid, metric=metric, ts=ts, values=values))  # type: ignore[arg-type]
    return Trends(items=items)


async def readings_series(
    db: AsyncSession,
    session_id: int,
    metric: str,
    since: datetime | None,
    until: datetime | None,
    max_points: int | None,
) -> ReadingSeries:
    if await repository.get(db, session_id) is None:
        raise SessionNotFound(session_id)
    ts, values = await _series(db, session_id, metric, since, until, max_points)
    since_ms, until_ms = to_ms(since) if since else None, to_ms(until) if until else None
    manual = await readings_repo.manual_points(db, session_id, metric, since_ms, until_ms)
    return ReadingSeries(
        metric=metric,
        ts=ts,
        values=values,
        manual=[
            ManualPoint(ts=from_ms(t), value=v, entry_id=i, entered_by=n) for t, v, i, n in manual
        ],
    )


async def _series(
    db: AsyncSession,
    session_id: int,
    metric: str,
    since: datetime | None,
    until: datetime | None,
    max_points: int | None,
) -> tuple[list[datetime], list[float]]:
    ts, values = await readings_repo.series(
        db, session_id, metric, to_ms(since) if since else None, to_ms(until) if until else None
    )
    if max_points is not None:
        ts, values = minmax_downsample(ts, values, max_points)
    return [from_ms(t) for t in ts.tolist()], values.tolist()
