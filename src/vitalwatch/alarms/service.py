"""The alarm evaluator: the pure engine wrapped in transactions.

The engine (alarms/engine/) decides; this module runs it under one asyncio
lock (shared with the ingest writer, so there is a single lock order), stores
what it decides through `AlarmStore` in the same transaction as the samples
or the staff action that caused it, and publishes once that transaction has
committed. It also feeds the engine what it cannot see itself: samples that
arrived out of measurement order (read back from storage), dashboards'
delivery confirmations, and the state to rebuild after a restart. Where the
outside is needed, it is injected (alarms/ports.py): an `Ownership` (which
sessions this evaluator holds, and proof of it in each transaction: the
cluster's partition, or one process holding everything), a
`NotificationPort` (secondary notification) and a `CommandSource` (whether a
staff command being run has run already, asked in its transaction).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from vitalwatch.alarms import replay, repository
from vitalwatch.alarms.engine import AlarmEngine, SessionConfig, Transition
from vitalwatch.alarms.engine.model import STATION, Action
from vitalwatch.alarms.engine.technical import UNWATCHED_AFTER_S
from vitalwatch.alarms.errors import AlarmNotFound, AlarmResolved
from vitalwatch.alarms.ports import (
    CommandSource,
    DirectCommands,
    EventLog,
    NoNotifications,
    NotificationPort,
    Ownership,
    OwnsEverything,
)
from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.alarms.store import AlarmStore, Change, Event, dt, epoch, out, view_of
from vitalwatch.audit import service as audit
from vitalwatch.auth import repository as users_repo
from vitalwatch.config import Settings
from vitalwatch.db import unit_of_work
from vitalwatch.logging import get_logger
from vitalwatch.metrics import ACTIVE_SESSIONS, ALARM_EVAL_SECONDS
from vitalwatch.readings import repository as readings_repo
from vitalwatch.samples import SampleBatch
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.baseline import compute_baseline
from vitalwatch.sessions.models import Session
from vitalwatch.sessions.thresholds import Thresholds
from vitalwatch.tasks import cancel_and_wait

log = get_logger(__name__)

#: How much stored history rebuilds the engine's pending conditions on start:
#: longer than every sustain window and the longest BP cuff interval + 60 s.
REPLAY_WINDOW_S = 20 * 60
#: A backlog is judged again from this long before its oldest sample.
RESYNC_LOOKBACK_S = 10 * 60
RESYNC_MAX_ROWS = 200_000
_BASELINE_CHECK_S = 10.0
_WATCH_CHECK_S = 2.0


def session_config(session: Session, device_names: dict[int, str]) -> SessionConfig:
    return SessionConfig(
        session_id=session.id,
        protocol=session.protocol,
        thresholds=Thresholds.model_validate(session.thresholds),
        device_names=dict(device_names),
        # a session entered after it began had its monitors bound when entered:
        # their silence is counted from then, not from the start it was given
        started_at=max(session.started_at, session.recorded_at or session.started_at).timestamp(),
        first_dose_at=epoch(session.first_dose_at),
        baseline={k: float(v) for k, v in (session.baseline or {}).items() if v is not None}
        or None,
    )


#: Longest the replay holds the event loop before letting it run (lease
#: renewal, requests, the alarm clock of the partitions already served).
_REPLAY_SLICE_S = 0.02


async def _replay(engine: AlarmEngine, table: npt.NDArray[np.float64], now_ms: int) -> None:
    """Stored history into the engine in slices that yield: a takeover of
    1,000 rooms' 20 minutes must not starve this process's own leases."""
    slice_end = time.perf_counter() + _REPLAY_SLICE_S
    for batch in replay.batches(table, now_ms):
        engine.replay(batch)
        if time.perf_counter() > slice_end:
            await asyncio.sleep(0)
            slice_end = time.perf_counter() + _REPLAY_SLICE_S


class AlarmService:
    """Alarm state of the sessions one partition holds (all of them in one process)."""

    def __init__(
        self,
        settings: Settings,
        maker: async_sessionmaker[AsyncSession],
        events: EventLog,
        *,
        ownership: Ownership | None = None,
        notifications: NotificationPort | None = None,
        commands: CommandSource | None = None,
    ) -> None:
        self._settings = settings
        self._notify = notifications or NoNotifications()
        self._commands = commands or DirectCommands()
        self._maker = maker
        self._events = events
        self._ownership = ownership or OwnsEverything()
        self.owns = self._ownership.owns
        self._fence = self._ownership.fence
        self._gauge = ACTIVE_SESSIONS.labels(self._ownership.name)
        self.lock = asyncio.Lock()
        self.engine = self._new_engine()
        #: Events recorded in the running ingest transaction, sent after commit.
        self._pending: list[Event] = []
        self._clock_task: asyncio.Task[None] | None = None
        self._rebuild_needed = False
        self._receipts_seen = 0

    def _new_engine(self) -> AlarmEngine:
        s = self._settings
        return AlarmEngine(
            escalate_after={"high": s.escalate_high_s, "medium": s.escalate_medium_s},
            delivery_timeout=s.delivery_timeout_s,
            unwatched_after=s.unwatched_after_s,
        )

    # -- start, stop, recovery ----------------------------------------------------------

    async def start(self) -> None:
        async with self.lock:
            await self._rebuild()
        self._clock_task = asyncio.create_task(self._clock(), name="alarm-clock")

    async def stop(self) -> None:
        await cancel_and_wait(self._clock_task)
        self._gauge.set(0)

    async def _rebuild(self) -> None:
        """Engine state from the database: sessions, recent readings, open alarms.

        Readings are replayed without emitting (their alarms are already
        stored), then the stored open alarms are restored over the replayed
        state, with what dashboards confirmed of them: a restart neither loses
        nor repeats an alarm.
        """
        engine = self._new_engine()
        async with unit_of_work(self._maker) as db:
            sessions = [
                s for s in await sessions_repo.list_(db, "active", limit=100_000) if self.owns(s.id)
            ]
            devices = await sessions_repo.devices_of(db, {s.id for s in sessions})
            for s in sessions:
                engine.upsert_session(
                    session_config(s, {d.id: d.name for d in devices[s.id] if d.session_id == s.id})
                )
            conn = await db.connection()
            if sessions:
                now_ms = int(time.time() * 1000)
                table = await readings_repo.recent_rows(
                    conn, [s.id for s in sessions], now_ms - REPLAY_WINDOW_S * 1000
                )
                await _replay(engine, table, now_ms)
            engine.clear_alarms()
            opened = [
                a for a in await repository.all_open(db) if self.owns(a.session_id or STATION)
            ]
            for alarm in opened:
                engine.restore_alarm(view_of(alarm))
            self._receipts_seen = await repository.last_receipt_id(conn)
            for r in await repository.receipts_of(conn, [a.id for a in opened]):
                engine.delivered(
                    r.alarm_id, r.dashboard, r.received_at.timestamp(), r.visible, r.sound
                )
        self.engine = engine
        self._rebuild_needed = False
        self._gauge.set(len(sessions))
        log.info("alarm_engine_rebuilt", sessions=len(sessions), open_alarms=len(opened))

    async def rebuild(self) -> None:
        """Rebuild the engine from the database now: a reading a nurse struck out
        must stop counting in the evaluation of later samples."""
        async with self.lock:
            await self._rebuild()

    # -- ingest path (IngestListener) ---------------------------------------------------

    async def before_commit(self, conn: AsyncConnection, batch: SampleBatch) -> None:
        await self._fence(conn)
        started = time.perf_counter()
        transitions = self.engine.evaluate(batch)
        ALARM_EVAL_SECONDS.observe(time.perf_counter() - started)
        if self.engine.stale:
            transitions += await self._resync(conn, batch.received_ms)
        if transitions:
            self._pending.extend(await self._store(conn, transitions))

    async def _resync(self, conn: AsyncConnection, received_ms: int) -> list[Transition]:
        """Samples older than ones already evaluated: judge their sessions again
        in measurement order, from what is stored (this batch included), at the
        receive time of the batch that found them (the history has none)."""
        out: list[Transition] = []
        for session_id, since in sorted(self.engine.stale.items()):
            history = await readings_repo.session_history(
                conn, session_id, int((since - RESYNC_LOOKBACK_S) * 1000), RESYNC_MAX_ROWS
            )
            history = replace(history, received_ms=received_ms)
            out += self.engine.resync(session_id, history, since)
            log.info("alarm_resync", session_id=session_id, samples=len(history))
        return out

    async def after_commit(self, batch: SampleBatch) -> None:
        pending, self._pending = self._pending, []
        self._dispatch(pending)

    async def after_rollback(self) -> None:
        """The engine advanced on a batch that was not stored: rebuild it."""
        self._pending = []
        self._rebuild_needed = True

    # -- persistence --------------------------------------------------------------------

    async def _store(self, conn: AsyncConnection, transitions: Sequence[Transition]) -> list[Event]:
        events, changes, new_ids = await AlarmStore(self._events).write(conn, transitions)
        for t in transitions:
            if t.view.uid in new_ids:
                self.engine.set_id(t.view.session_id, t.view.rule, new_ids[t.view.uid])
        await self._hand_over(conn, changes)
        return events

    async def _hand_over(self, conn: AsyncConnection, changes: Iterable[Change]) -> None:
        """Secondary notification, in the transaction that stored the change: an
        escalated alarm starts its chain; an answered or ended one stops it."""
        now = datetime.now(UTC)
        for alarm, transitions in changes:
            actions = {t.action for t in transitions}
            if Action.ESCALATED in actions and alarm.state == "active":
                reason = next(t.message for t in transitions if t.action is Action.ESCALATED)
                row = {**alarm.model_dump(), "session_id": alarm.session_id or STATION}
                await self._notify.schedule(conn, row, reason, now)
            elif actions & {Action.ACKNOWLEDGED, Action.RESOLVED}:
                await self._notify.cancel(conn, alarm.id, alarm.state)

    def _dispatch(self, events: Iterable[Event]) -> None:
        for event_id, payload in events:
            self._events.publish(event_id, "alarm", payload)

    async def _run(self, transitions: Sequence[Transition]) -> None:
        """Store and publish transitions outside the ingest path (lock held)."""
        if not transitions:
            return
        async with unit_of_work(self._maker) as db:
            conn = await db.connection()
            await self._fence(conn)
            events = await self._store(conn, transitions)
        self._dispatch(events)

    # -- sessions -----------------------------------------------------------------------

    async def reload_session(self, session_id: int) -> None:
        """Bring the engine in line with the committed session: limits, dose,
        baseline and devices of an active one; an ended one's alarms resolved
        in the name of whoever ended it."""
        async with unit_of_work(self._maker) as db:
            session = await sessions_repo.get(db, session_id)
            names: dict[int, str] = {}
            ended_by = None
            if session is not None and session.status == "active":
                devices = (await sessions_repo.devices_of(db, {session_id}))[session_id]
                names = {d.id: d.name for d in devices if d.session_id == session_id}
            elif session is not None:
                ended_by = await users_repo.username_of(db, session.ended_by)
        if session is not None and session.status == "active":
            await self._configure(session_config(session, names))
        else:
            async with self.lock:
                await self._run(self.engine.end_session(session_id, time.time(), ended_by))
                self._gauge.set(self.engine.session_count())

    async def _configure(self, cfg: SessionConfig) -> None:
        async with self.lock:
            await self._run(self.engine.upsert_session(cfg))
            self._gauge.set(self.engine.session_count())

    async def observe(self, session_id: int, kind: str, value: float, ts: datetime) -> None:
        """A nurse's observation that alarm rules read (MOAA/S <= 2: deep sedation)."""
        async with self.lock:
            await self._run(
                self.engine.observe(session_id, kind, value, ts.timestamp(), time.time())
            )

    # -- staff actions ------------------------------------------------------------------

    async def acknowledge(self, alarm_id: int, actor: audit.Actor) -> AlarmOut:
        return await self._staff_action(alarm_id, actor, "acknowledge", None)

    async def silence(self, alarm_id: int, seconds: int, actor: audit.Actor) -> AlarmOut:
        return await self._staff_action(alarm_id, actor, "silence", seconds)

    async def _staff_action(
        self, alarm_id: int, actor: audit.Actor, action: str, seconds: int | None
    ) -> AlarmOut:
        """Run and audit the command in one transaction; one that has run already
        (`CommandSource.repeated`) is answered with the alarm as it stands."""
        async with self.lock, unit_of_work(self._maker) as db:
            alarm = await repository.get(db, alarm_id)
            if alarm is None:
                raise AlarmNotFound(alarm_id)
            if await self._commands.repeated(db, f"alarm.{action}", alarm_id):
                return out(alarm)
            if alarm.state == "resolved":
                raise AlarmResolved(alarm_id)
            now = time.time()
            user = actor.name or "unknown"
            sid = STATION if alarm.session_id is None else alarm.session_id
            if action == "acknowledge":
                transitions = self.engine.acknowledge(sid, alarm.rule, now, user)
            else:
                transitions = self.engine.silence(sid, alarm.rule, now, float(seconds or 120), user)
            conn = await db.connection()
            await self._fence(conn)
            events = await self._store(conn, transitions)
            await audit.record(
                db,
                actor=actor,
                action=f"alarm.{action}",
                entity="alarm",
                entity_id=alarm_id,
                detail={
                    **({} if seconds is None else {"seconds": seconds}),
                    **self._commands.audit_detail(),
                }
                or None,
            )
            await db.refresh(alarm)  # the alarm row as the store just wrote it
            shown = out(alarm)
        self._dispatch(events)
        return shown

    # -- the alarm clock ----------------------------------------------------------------

    async def _clock(self) -> None:
        """Technical alarms, escalation, reminders, silence expiry, delivery; baselines."""
        interval = self._settings.tick_interval_s
        last_baseline = last_watch = 0.0
        while True:
            await asyncio.sleep(interval)
            now = time.time()
            try:
                async with self.lock:
                    if self._rebuild_needed:
                        await self._rebuild()
                    await self._take_receipts()
                    await self._run(self.engine.tick(now))
                    if self.owns(STATION) and now - last_watch >= _WATCH_CHECK_S:
                        last_watch = now
                        await self._run(await self._watch(now))
                if now - last_baseline >= _BASELINE_CHECK_S:
                    last_baseline = now
                    await self._fix_baselines(now)
            except Exception:
                log.exception("alarm_clock_failed")
                self._rebuild_needed = True

    async def _take_receipts(self) -> None:
        """What dashboards confirmed since the last tick, into the engine and the rows."""
        async with unit_of_work(self._maker) as db:
            conn = await db.connection()
            rows = await repository.receipts_after(conn, self._receipts_seen, 50_000)
            if not rows:
                return
            self._receipts_seen = int(rows[-1].id)
            changed: set[int] = set()
            for r in rows:
                if self.engine.delivered(
                    r.alarm_id, r.dashboard, r.received_at.timestamp(), r.visible, r.sound
                ):
                    changed.add(int(r.alarm_id))
            if not changed:
                return
            await self._fence(conn)
            for alarm_id in sorted(changed):
                view = self.engine.view_of(alarm_id)
                if view is not None:
                    await repository.update_delivery(
                        conn,
                        alarm_id,
                        {
                            "first_delivered_at": dt(view.first_delivered_at),
                            "dashboards": view.dashboards,
                            "first_seen_at": dt(view.first_seen_at),
                        },
                    )

    async def _watch(self, now: float) -> list[Transition]:
        """Is any dashboard able to alert a nurse? (The station's own alarm.)"""
        since = datetime.fromtimestamp(now - UNWATCHED_AFTER_S, UTC)  # heard lately
        async with unit_of_work(self._maker) as db:
            watching, active = await repository.watching(await db.connection(), since)
        return self.engine.watch(now, watching, active)

    async def _fix_baselines(self, now: float) -> None:
        """Sessions without a dose get their baseline once 5 minutes have passed."""
        configs: list[SessionConfig] = []
        async with unit_of_work(self._maker) as db:
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
        for cfg in configs:
            await self._configure(cfg)


async def views_for(db: AsyncSession, session_ids: Iterable[int]) -> dict[int, list[AlarmOut]]:
    """Open alarms of the given sessions, newest first (a database read)."""
    result: dict[int, list[AlarmOut]] = {}
    for alarm in await repository.open_for_sessions(db, session_ids):
        result.setdefault(alarm.session_id or STATION, []).append(out(alarm))
    return result


async def station_alarms(db: AsyncSession) -> list[AlarmOut]:
    """The station's own open alarms (no session: "no dashboard is watching")."""
    return [out(a) for a in await repository.open_station(db)]


async def search(
    db: AsyncSession, state: str | None, session_id: int | None, limit: int
) -> list[AlarmOut]:
    return [out(a) for a in await repository.search(db, state, session_id, limit)]
