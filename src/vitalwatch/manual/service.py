"""Vitals typed in by a nurse: stored and evaluated exactly like a device's.

The entry goes through the ingest path of `POST /api/v1/readings`
(`cluster.submit`, validated by the same code, so an impossible value is the
same 422), from the session's manual source. Who typed it is written, with
the audit entry, before the values are stored: there is never a typed-in
reading without its nurse. A strike keeps the reading in the record and
takes it out of charts, baselines, the latest values and the engine's state.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.audit import service as audit
from vitalwatch.db import from_ms, on_commit, to_ms, unit_of_work, utcnow
from vitalwatch.errors import Conflict, Invalid, NotFound, Unavailable
from vitalwatch.manual import repository
from vitalwatch.manual.schemas import ManualEntry, ManualReadingOut, StrikeIn
from vitalwatch.readings.models import ManualReading
from vitalwatch.readings.validation import SampleProblems, parse_readings
from vitalwatch.readings.writer import DeviceNotBound, IngestUnavailable
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.errors import SessionEnded, SessionNotFound
from vitalwatch.sessions.models import Session, SessionEvent
from vitalwatch.sessions.service import SessionParts
from vitalwatch.vitals import METRIC_INFO, METRICS


class EntryNotFound(NotFound):
    pass


class AlreadyStruck(Conflict):
    pass


class NotStored(Unavailable):
    """The database did not take the reading (retry)."""


def _problem(loc: tuple[Any, ...], msg: str, value: Any) -> dict[str, Any]:
    return {"type": "value_error", "loc": ("body", *loc), "msg": msg, "input": value}


def _iso(ms: int) -> str:
    return from_ms(ms).isoformat()


def describe(values: dict[str, Any]) -> str:
    """ "BP 120/80, HR 72 /min, SpO2 97 %" as a nurse writes it."""
    parts = []
    if values.get("sbp") is not None and values.get("dbp") is not None:
        parts.append(f"BP {values['sbp']:g}/{values['dbp']:g}")
    for m in ("map", "hr", "spo2", "rr"):
        if values.get(m) is not None:
            info = METRIC_INFO[m]
            parts.append(f"{info.label} {values[m]:g} {info.unit}")
    return ", ".join(parts)


def _validate(body: ManualEntry, session: Session, now_ms: int, skew_s: float, seq: int) -> Any:
    given: dict[str, Any] = {m: getattr(body, m) for m in METRICS if getattr(body, m) is not None}
    if (body.sbp is None) != (body.dbp is None):
        missing = "dbp" if body.dbp is None else "sbp"
        raise Invalid(
            [_problem((missing,), "a BP needs systolic and diastolic (e.g. 120/80)", None)]
        )
    sample: dict[str, Any] = {"seq": seq, **given}
    if body.ts is not None:
        sample["ts"] = body.ts.isoformat()
    try:
        columns = parse_readings(orjson.dumps({"samples": [sample]}), now_ms, int(skew_s * 1000))
    except SampleProblems as exc:
        raise Invalid(
            [
                {**e, "loc": ("body", *(x for x in e["loc"][3:] if x != "samples"))}
                for e in exc.errors
            ]
        ) from None
    ts_ms = int(columns.ts_ms[0])
    started_ms = to_ms(session.started_at)
    if ts_ms < started_ms:
        raise Invalid(
            [
                _problem(
                    ("ts",),
                    f"ts is before the session started ({_iso(started_ms)})",
                    sample.get("ts"),
                )
            ]
        )
    return columns


async def enter(
    maker: async_sessionmaker[AsyncSession],
    parts: SessionParts,
    session_id: int,
    body: ManualEntry,
    actor: audit.Actor,
) -> ManualReadingOut:
    """Store and evaluate a typed-in reading; returns once it is durable (on
    database sessions of its own: the values are stored between two of them)."""
    now_ms = int(time.time() * 1000)
    seq = time.time_ns() // 1000  # unique per manual source, increasing
    async with unit_of_work(maker) as db:
        session = await sessions_repo.get(db, session_id, for_update=True)
        if session is None:
            raise SessionNotFound(session_id)
        if session.status != "active":
            raise SessionEnded(session_id)
        columns = _validate(body, session, now_ms, parts.settings.max_future_skew_s, seq)
        source = await repository.source_of(db, session_id, session.room)
        ts_ms = int(columns.ts_ms[0])
        values: dict[str, Any] = {
            m: getattr(body, m) for m in METRICS if getattr(body, m) is not None
        }
        entry = ManualReading(
            session_id=session_id,
            device_id=source.id,
            seq=seq,
            ts_ms=ts_ms,
            entered_by=actor.id,
            entered_by_name=actor.name or "unknown",
        )
        db.add(entry)
        await db.flush()
        text = f"Typed in: {describe(values)} (by {entry.entered_by_name})"
        event = SessionEvent(
            session_id=session_id,
            kind="manual_reading",
            ts=from_ms(ts_ms),
            detail=text,
            created_by=actor.id,
        )
        db.add(event)
        await audit.record(
            db,
            actor=actor,
            action="reading.manual",
            entity="session",
            entity_id=session_id,
            detail={"entry_id": entry.id, "ts": _iso(ts_ms), "values": values},
        )
        await db.flush()
        entry_id, device_id, event_id = entry.id, source.id, event.id
    try:
        await parts.cluster.submit(device_id, columns)
    except DeviceNotBound:
        await _not_stored(maker, session_id, entry_id, event_id, actor, "session ended")
        raise SessionEnded(session_id, "the reading was not stored") from None
    except IngestUnavailable:
        await _not_stored(maker, session_id, entry_id, event_id, actor, "database unavailable")
        raise NotStored(
            "The reading was not stored: the database did not take it; try again"
        ) from None
    async with unit_of_work(maker) as db:
        stored = await db.get(ManualReading, entry_id)
        assert stored is not None
        out = await _view(db, stored)
        # dashboards mark the value as typed in (the live values carry no source),
        # once it is stored: a reading the store refused is never shown
        await parts.events.emit(
            db, "manual_reading", {"manual_reading": out.model_dump(mode="json")}
        )
    return out


async def _not_stored(
    maker: async_sessionmaker[AsyncSession],
    session_id: int,
    entry_id: int,
    event_id: int,
    actor: audit.Actor,
    why: str,
) -> None:
    """Undo the entry whose values never reached the store (audited)."""
    async with unit_of_work(maker) as db:
        await repository.delete_entry(db, entry_id, event_id)
        await audit.record(
            db,
            actor=actor,
            action="reading.manual.not_stored",
            entity="session",
            entity_id=session_id,
            detail={"entry_id": entry_id, "reason": why},
        )


async def _view(db: AsyncSession, entry: ManualReading) -> ManualReadingOut:
    values = (await repository.values(db, [entry])).get(entry.id, {})
    return _out(entry, values)


def _out(entry: ManualReading, values: dict[str, Any]) -> ManualReadingOut:
    return ManualReadingOut(
        id=entry.id,
        session_id=entry.session_id,
        ts=from_ms(entry.ts_ms),
        **{m: values.get(m) for m in METRICS},
        entered_by=entry.entered_by_name,
        entered_at=entry.entered_at,
        struck=entry.struck_at is not None,
        struck_at=entry.struck_at,
        struck_by=entry.struck_by_name,
        strike_reason=entry.strike_reason,
    )


async def list_entries(db: AsyncSession, session_id: int) -> list[ManualReadingOut]:
    if await sessions_repo.get(db, session_id) is None:
        raise SessionNotFound(session_id)
    entries = await repository.of_session(db, session_id)
    values = await repository.values(db, entries)
    return [_out(e, values.get(e.id, {})) for e in entries]


#: Typed-in readings per session the station is given when it opens: enough for
#: the latest value of every metric to be recognised as typed in.
RECENT_PER_SESSION = 10


async def recent(db: AsyncSession, session_ids: list[int]) -> list[ManualReadingOut]:
    """The newest typed-in readings (not struck) of several sessions, oldest first."""
    entries = await repository.recent_of(db, session_ids, RECENT_PER_SESSION)
    values = await repository.values(db, entries)
    out = [_out(e, values.get(e.id, {})) for e in entries]
    return sorted(out, key=lambda o: (o.session_id, o.ts))


async def strike(
    db: AsyncSession,
    parts: SessionParts,
    session_id: int,
    entry_id: int,
    body: StrikeIn,
    actor: audit.Actor,
) -> ManualReadingOut:
    """Strike a typed-in reading out: kept, marked, audited, on the timeline.

    Alarms it raised stay (they happened and are in the alarm log); the engine
    is rebuilt without it, so it no longer counts for later samples, the
    baseline, "BP check due" or the latest values.
    """
    entry = await repository.get(db, entry_id)
    if entry is None or entry.session_id != session_id:
        raise EntryNotFound(f"Typed-in reading {entry_id} not found in session {session_id}")
    if entry.struck_at is not None:
        raise AlreadyStruck(
            f"Typed-in reading {entry_id} was struck already by {entry.struck_by_name}"
        )
    session = await sessions_repo.get(db, session_id)
    assert session is not None
    values = (await repository.values(db, [entry])).get(entry.id, {})
    entry.struck_at = utcnow()
    entry.struck_by = actor.id
    entry.struck_by_name = actor.name or "unknown"
    entry.strike_reason = body.reason
    at = from_ms(entry.ts_ms)
    db.add(
        SessionEvent(
            session_id=session_id,
            kind="reading_struck",
            ts=entry.struck_at,
            detail=(
                f"Struck out: {describe(values)} typed in by {entry.entered_by_name} for "
                f"{at.strftime('%H:%M')} UTC; by {entry.struck_by_name}: {body.reason}"
            ),
            created_by=actor.id,
        )
    )
    await audit.record(
        db,
        actor=actor,
        action="reading.strike",
        entity="session",
        entity_id=session_id,
        detail={"entry_id": entry_id, "reason": body.reason, "values": values},
    )
    await db.flush()
    if session.status == "active":
        parts.latest.forget(session_id)  # reloaded below without the struck value
        await parts.views.show(db, [session])

        async def _rebuild() -> None:
            await parts.cluster.readings_struck(session_id)

        on_commit(db, _rebuild)
    out = _out(entry, values)
    await parts.events.emit(db, "manual_reading", {"manual_reading": out.model_dump(mode="json")})
    return out
