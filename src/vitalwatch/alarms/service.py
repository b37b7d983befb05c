"""The alarm lifecycle around the pure engine: persistence, staff actions,
the alarm clock and restart recovery.

The engine (alarms/engine.py) decides; this module records every transition
as an alarm row, an alarm-log row and a live event in the same transaction,
and publishes the events once that transaction has committed. One asyncio
lock, shared with the ingest writer, is taken before any database write that
touches alarm state, so engine and database never diverge and there is a
single lock order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from fastapi import HTTPException, status
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from vitalwatch.alarms import repository
from vitalwatch.alarms.engine import AlarmEngine, AlarmView, SampleBatch, SessionConfig, Transition
from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.alarms.thresholds import Thresholds
from vitalwatch.audit import service as audit
from vitalwatch.config import Settings
from vitalwatch.live.hub import Hub
from vitalwatch.logging import get_logger
from vitalwatch.metrics import ACTIVE_SESSIONS, ALARM_EVAL_SECONDS, ALARM_TRANSITIONS
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.writer import StoredBatch
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.models import Session

log = get_logger(__name__)

#: How much stored history rebuilds the engine's pending conditions on start:
#: longer than every sustain window and the longest BP cuff interval + 60 s.
REPLAY_WINDOW_S = 20 * 60
_BASELINE_CHECK_S = 10.0

#: Checks, inside each transaction that writes alarm state, that this process
#: still owns the partition (raises otherwise, which rolls the transaction back).
Fence = Callable[[AsyncConnection], Awaitable[None]]


def _everything(session_id: int) -> bool:
    return True


async def no_fence(conn: AsyncConnection) -> None:
    return None


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)


def _epoch(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def session_config(session: Session, device_names: dict[int, str]) -> SessionConfig:
    return SessionConfig(
        session_id=session.id,
        protocol=session.protocol,
        thresholds=Thresholds.model_validate(session.thresholds),
        device_names=dict(device_names),
        started_at=session.started_at.timestamp(),
        first_dose_at=_epoch(session.first_dose_at),
        baseline={k: float(v) for k, v in (session.baseline or {}).items() if v is not None}
        or None,
    )


def to_sample_batch(batch: StoredBatch) -> SampleBatch:
    return SampleBatch(
        session_id=batch.session_id,
        device_id=batch.device_id,
        ts=batch.ts_ms.astype(np.float64) / 1000.0,
        values=batch.values,
        received_at=batch.received_ms / 1000.0,
    )


class AlarmService:
    """Alarm state of the sessions one partition holds (all of them in one process).

    `owns` says which sessions are this service's; `fence` proves ownership
    inside every transaction that writes alarm state, so a process that lost
    its partition cannot write alarms next to the new owner.
    """

    def __init__(
        self,
        settings: Settings,
        maker: async_sessionmaker[AsyncSession],
        hub: Hub,
        *,
        owns: Callable[[int], bool] = _everything,
        fence: Fence = no_fence,
        partition: int = 0,
    ) -> None:
        self._settings = settings
        self._maker = maker
        self._hub = hub
        self.owns = owns
        self._fence = fence
        self._gauge = ACTIVE_SESSIONS.labels(str(partition))
        self.lock = asyncio.Lock()
        self.engine = AlarmEngine()
        #: The row of every open alarm by (session, rule): mirrors the database.
        self._rows: dict[tuple[int, str], dict[str, Any]] = {}
        #: Events recorded in the running ingest transaction, sent after commit.
        self._pending: list[tuple[int, dict[str, Any]]] = []
        self._clock_task: asyncio.Task[None] | None = None
        self._rebuild_needed = False

    # -- start, stop, recovery ----------------------------------------------------------

    async def start(self) -> None:
        async with self.lock:
            await self._rebuild()
        self._clock_task = asyncio.create_task(self._clock(), name="alarm-clock")

    async def stop(self) -> None:
        if self._clock_task is not None:
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task
        self._gauge.set(0)

    async def _rebuild(self) -> None:
        """Engine state from the database: sessions, recent readings, open alarms.

        Readings are replayed without emitting (their alarms are already
        stored), then the stored open alarms are restored over the replayed
        state: a restart neither loses nor repeats an alarm.
        """
        engine = AlarmEngine()
        rows: dict[tuple[int, str], dict[str, Any]] = {}
        async with self._maker() as db:
            sessions = [
                s for s in await sessions_repo.list_(db, "active", limit=100_000) if self.owns(s.id)
            ]
            devices = await sessions_repo.devices_of(db, {s.id for s in sessions})
            for s in sessions:
                engine.upsert_session(
                    session_config(s, {d.id: d.name for d in devices[s.id] if d.session_id == s.id})
                )
            if sessions:
                since_ms = int((time.time() - REPLAY_WINDOW_S) * 1000)
                conn = await db.connection()
                for batch in await readings_repo.recent_batches(
                    conn, [s.id for s in sessions], since_ms
                ):
                    engine.replay(to_sample_batch(batch))
            engine.clear_alarms()
            for alarm in await repository.all_open(db):
                if not self.owns(alarm.session_id):
                    continue
                row = {c: getattr(alarm, c) for c in _ROW_FIELDS}
                rows[(alarm.session_id, alarm.rule)] = row
                engine.restore_alarm(_view_from_row(row))
        self.engine, self._rows = engine, rows
        self._rebuild_needed = False
        self._gauge.set(len(sessions))
        log.info("alarm_engine_rebuilt", sessions=len(sessions), open_alarms=len(rows))

    async def rebuild(self) -> None:
        """Rebuild the engine from the database now: a reading a nurse struck out
        must stop counting in the evaluation of later samples."""
        async with self.lock:
            await self._rebuild()

    # -- ingest path (IngestListener) ---------------------------------------------------

    async def before_commit(self, conn: AsyncConnection, batch: StoredBatch) -> None:
        await self._fence(conn)
        started = time.perf_counter()
        transitions = self.engine.evaluate(to_sample_batch(batch))
        ALARM_EVAL_SECONDS.observe(time.perf_counter() - started)
        if transitions:
            self._pending.extend(await self._apply(conn, transitions))

    async def after_commit(self, batch: StoredBatch) -> None:
        pending, self._pending = self._pending, []
        self._dispatch(pending)

    async def after_rollback(self) -> None:
        """The engine advanced on a batch that was not stored: rebuild it."""
        self._pending = []
        self._rebuild_needed = True

    # -- persistence --------------------------------------------------------------------

    async def _apply(
        self, conn: AsyncConnection, transitions: Sequence[Transition]
    ) -> list[tuple[int, dict[str, Any]]]:
        """Store transitions (alarm rows, log, live events); return events to send."""
        events: list[tuple[int, dict[str, Any]]] = []
        log_rows: list[dict[str, Any]] = []
        for t in transitions:
            key = (t.session_id, t.rule)
            ALARM_TRANSITIONS.labels(t.action, t.priority).inc()
            view = t.view
            if t.action == "raised" or key not in self._rows:
                if view is None:
                    continue  # raised and resolved within one evaluation: logged below only
                row = _row_from_view(view)
                row["id"] = await repository.insert_alarm(
                    conn, {k: v for k, v in row.items() if k != "id"}
                )
            else:
                previous = self._rows[key]
                if view is None:
                    row = {
                        **previous,
                        "state": "resolved",
                        "condition_active": False,
                        "resolved_at": _dt(t.ts),
                        "silenced_until": None,
                    }
                else:
                    row = {**_row_from_view(view), "id": previous["id"]}
                    row["raised_at"] = previous["raised_at"]
                await repository.update_alarm(
                    conn, row["id"], {k: v for k, v in row.items() if k != "id"}
                )
            if row["state"] == "resolved":
                self._rows.pop(key, None)
            else:
                self._rows[key] = row
            log_rows.append(
                {
                    "alarm_id": row["id"],
                    "ts": _dt(t.ts),
                    "action": t.action,
                    "priority": t.priority,
                    "value": t.value,
                    "threshold": t.threshold,
                    "message": t.message,
                    "user": t.user,
                    "created_at": datetime.now(UTC),
                }
            )
            payload = {
                "alarm": AlarmOut.model_validate(row).model_dump(mode="json"),
                "action": t.action,
            }
            events.append((await self._hub.record(conn, "alarm", payload), payload))
            log.info(
                "alarm_transition",
                session_id=t.session_id,
                alarm_id=row["id"],
                rule=t.rule,
                action=t.action,
                priority=t.priority,
            )
        await repository.insert_log(conn, log_rows)
        return events

    def _dispatch(self, events: Iterable[tuple[int, dict[str, Any]]]) -> None:
        for event_id, payload in events:
            self._hub.publisher(event_id, "alarm", payload)

    async def _run(self, transitions: Sequence[Transition]) -> None:
        """Store and publish transitions outside the ingest path (lock held)."""
        if not transitions:
            return
        async with self._maker() as db:
            conn = await db.connection()
            await self._fence(conn)
            events = await self._apply(conn, transitions)
            await db.commit()
        self._dispatch(events)

    # -- sessions -----------------------------------------------------------------------

    async def reload_session(self, session_id: int) -> None:
        """Bring the engine in line with the committed session: limits, dose,
        baseline and devices of an active one; an ended one's alarms resolved."""
        async with self._maker() as db:
            session = await sessions_repo.get(db, session_id)
            names: dict[int, str] = {}
            if session is not None and session.status == "active":
                devices = (await sessions_repo.devices_of(db, {session_id}))[session_id]
                names = {d.id: d.name for d in devices if d.session_id == session_id}
        if session is not None and session.status == "active":
            await self._configure(session_config(session, names))
        else:
            async with self.lock:
                await self._run(self.engine.end_session(session_id, time.time()))
                self._gauge.set(self.engine.session_count())

    async def _configure(self, cfg: SessionConfig) -> None:
        async with self.lock:
            await self._run(self.engine.upsert_session(cfg))
            self._gauge.set(self.engine.session_count())

    # -- staff actions ------------------------------------------------------------------

    async def acknowledge(
        self, alarm_id: int, actor: audit.Actor, request: str | None = None
    ) -> AlarmOut:
        return await self._staff_action(alarm_id, actor, "acknowledge", None, request)

    async def silence(
        self, alarm_id: int, seconds: int, actor: audit.Actor, request: str | None = None
    ) -> AlarmOut:
        return await self._staff_action(alarm_id, actor, "silence", seconds, request)

    async def _staff_action(
        self,
        alarm_id: int,
        actor: audit.Actor,
        action: str,
        seconds: int | None,
        request: str | None,
    ) -> AlarmOut:
        """`request` names a command that may arrive twice (production mode: a
        stream entry re-read after a takeover); it runs once and is audited once."""
        async with self.lock, self._maker() as db:
            alarm = await repository.get(db, alarm_id)
            if alarm is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"Alarm {alarm_id} not found")
            if request is not None and await audit.done_before(
                db, action=f"alarm.{action}", entity="alarm", entity_id=alarm_id, request=request
            ):
                return AlarmOut.model_validate(alarm)
            if alarm.state == "resolved":
                raise HTTPException(
                    status.HTTP_409_CONFLICT, f"Alarm {alarm_id} is already resolved"
                )
            now = time.time()
            user = actor.name or "unknown"
            if action == "acknowledge":
                transitions = self.engine.acknowledge(alarm.session_id, alarm.rule, now, user)
            else:
                transitions = self.engine.silence(
                    alarm.session_id, alarm.rule, now, float(seconds or 120), user
                )
            conn = await db.connection()
            await self._fence(conn)
            events = await self._apply(conn, transitions)
            await audit.record(
                db,
                actor=actor,
                action=f"alarm.{action}",
                entity="alarm",
                entity_id=alarm_id,
                detail={
                    k: v for k, v in (("seconds", seconds), ("request", request)) if v is not None
                }
                or None,
            )
            await db.commit()
            await db.refresh(alarm)
            out = AlarmOut.model_validate(alarm)
        self._dispatch(events)
        return out

    # -- the alarm clock ----------------------------------------------------------------

    async def _clock(self) -> None:
        """Technical alarms, escalation, reminders, silence expiry; baselines."""
        interval = self._settings.tick_interval_s
        last_baseline = 0.0
        while True:
            await asyncio.sleep(interval)
            now = time.time()
            try:
                async with self.lock:
                    if self._rebuild_needed:
                        await self._rebuild()
                    await self._run(self.engine.tick(now))
                if now - last_baseline >= _BASELINE_CHECK_S:
                    last_baseline = now
                    await self._fix_baselines(now)
            except Exception:
                log.exception("alarm_clock_failed")
                self._rebuild_needed = True

    async def _fix_baselines(self, now: float) -> None:
        """Sessions without a dose get their baseline once 5 minutes have passed."""
        from vitalwatch.sessions.service import compute_baseline

        configs: list[SessionConfig] = []
        async with self._maker() as db:
            for session in await sessions_repo.list_(db, "active", limit=100_000):
                if not self.owns(session.id):
                    continue
                if session.baseline is not None or session.first_dose_at is not None:
                    continue
                baseline = await compute_baseline(db, session, datetime.fromtimestamp(now, UTC))
                if baseline is None:
                    continue
                session.baseline = baseline
                devices = (await sessions_repo.devices_of(db, {session.id}))[session.id]
                names = {d.id: d.name for d in devices if d.session_id == session.id}
                configs.append(session_config(session, names))
            await db.commit()
        for cfg in configs:
            await self._configure(cfg)


async def views_for(db: AsyncSession, session_ids: Iterable[int]) -> dict[int, list[AlarmOut]]:
    """Open alarms of the given sessions, newest first (a database read)."""
    out: dict[int, list[AlarmOut]] = {}
    for alarm in await repository.open_for_sessions(db, session_ids):
        out.setdefault(alarm.session_id, []).append(AlarmOut.model_validate(alarm))
    return out


async def search(
    db: AsyncSession, state: str | None, session_id: int | None, limit: int
) -> list[AlarmOut]:
    return [
        AlarmOut.model_validate(a) for a in await repository.search(db, state, session_id, limit)
    ]


_ROW_FIELDS = (
    "id",
    "session_id",
    "device_id",
    "kind",
    "metric",
    "rule",
    "priority",
    "state",
    "condition_active",
    "value",
    "threshold",
    "message",
    "raised_at",
    "acked_at",
    "acked_by",
    "silenced_until",
    "escalated_at",
    "resolved_at",
)


def _row_from_view(view: AlarmView) -> dict[str, Any]:
    return {
        "session_id": view.session_id,
        "device_id": view.device_id,
        "kind": view.kind,
        "metric": view.metric,
        "rule": view.rule,
        "priority": view.priority,
        "state": view.state,
        "condition_active": view.condition_active,
        "value": view.value,
        "threshold": view.threshold,
        "message": view.message,
        "raised_at": _dt(view.raised_at),
        "acked_at": _dt(view.acked_at),
        "acked_by": view.acked_by,
        "silenced_until": _dt(view.silenced_until),
        "escalated_at": _dt(view.escalated_at),
        "resolved_at": None,
        "updated_at": datetime.now(UTC),
    }


def _view_from_row(row: dict[str, Any]) -> AlarmView:
    return AlarmView(
        session_id=row["session_id"],
        rule=row["rule"],
        kind=row["kind"],
        metric=row["metric"],
        priority=row["priority"],
        state=row["state"],
        condition_active=row["condition_active"],
        value=row["value"],
        threshold=row["threshold"],
        message=row["message"],
        raised_at=_epoch(row["raised_at"]) or 0.0,
        acked_at=_epoch(row["acked_at"]),
        acked_by=row["acked_by"],
        silenced_until=_epoch(row["silenced_until"]),
        escalated_at=_epoch(row["escalated_at"]),
        device_id=row["device_id"],
    )
