"""The records check, every `records_check_s` seconds, for the sessions this
process evaluates: a `session` event when readiness changes (its moments are
read from the record, records/stretch.py), observation reminders, and the
newest MOAA/S handed to the alarm engine again (so a lost hand-over or a
restart delays it by seconds at most, never loses it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.db import unit_of_work
from vitalwatch.logging import get_logger
from vitalwatch.records import readiness, repository
from vitalwatch.records.models import Observation
from vitalwatch.records.schemas import ReadinessOut
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.service import SessionParts
from vitalwatch.tasks import cancel_and_wait, every

log = get_logger(__name__)


def _fingerprint(r: ReadinessOut) -> tuple[object, ...]:
    """What a dashboard shows: flags and reasons (no moving times)."""
    return (
        r.ready,
        r.stable,
        r.observation_met,
        r.vitals_near_baseline,
        r.bp_checkpoints_met,
        r.no_recent_alarm,
        r.sedation_ok,
        r.observation_due,
        tuple(r.reasons),
        r.first_ready_at,
        r.signed_off_at,
    )


class RecordsWatcher:
    def __init__(self, maker: async_sessionmaker[AsyncSession], parts: SessionParts) -> None:
        """`maker`: a database session per check; `parts`: the sessions' collaborators
        (the interval is `parts.settings.records_check_s`)."""
        self._maker = maker
        self._parts = parts
        self._task: asyncio.Task[None] | None = None
        self._shown: dict[int, tuple[object, ...]] = {}
        self._due: dict[int, bool] = {}
        self._moass: dict[int, int] = {}  # session -> observation id handed over

    def start(self) -> None:
        self._task = asyncio.create_task(
            every(self._parts.settings.records_check_s, self.check, log, "records_check_failed"),
            name="records-check",
        )

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def check(self) -> None:
        parts = self._parts
        latest, tz = parts.latest, parts.settings.tz
        async with unit_of_work(self._maker) as db:
            sessions = [
                s
                for s in await sessions_repo.list_(db, "active", limit=100_000)
                if s.first_dose_at is not None and parts.cluster.owns(s.id)
            ]
            ids = {s.id for s in sessions}
            for gone in set(self._shown) - ids:
                self._shown.pop(gone, None)
                self._due.pop(gone, None)
                self._moass.pop(gone, None)
            if not sessions:
                return
            await latest.ensure_loaded(db, ids)
            states = await readiness.compute(db, latest, tz, sessions)
            changed = []
            for s in sessions:
                r = states[s.id]
                if self._shown.get(s.id) != _fingerprint(r):
                    self._shown[s.id] = _fingerprint(r)
                    changed.append(s)
            if changed:
                await parts.views.show(db, changed)
            last = await repository.last_observation(db, ids)
        for s in sessions:
            await self._hand_over(s.id, states[s.id], last.get(s.id))

    async def _hand_over(
        self, session_id: int, r: ReadinessOut, last: tuple[datetime, Observation | None] | None
    ) -> None:
        cluster = self._parts.cluster
        if self._due.get(session_id) != r.observation_due:
            self._due[session_id] = r.observation_due
            now = datetime.now(UTC)
            await cluster.observe(session_id, "observation_due", float(r.observation_due), now)
        moass = last[1] if last else None
        if (
            moass is not None
            and moass.moass is not None
            and self._moass.get(session_id) != moass.id
        ):
            self._moass[session_id] = moass.id
            await cluster.observe(session_id, "moaa_s", float(moass.moass), moass.ts)
