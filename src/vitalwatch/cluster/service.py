"""The cluster as request handlers see it: where samples and alarm commands go.

`LocalCluster` is the embedded default: this process evaluates every session.
`cluster.distributed.RedisCluster` spreads partitions over several processes.
Both give handlers the same calls, so routers and services do not know which
one runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitalwatch.alarms import repository as alarms_repo
from vitalwatch.alarms.errors import AlarmNotFound, AlarmResolved
from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.audit.service import Actor
from vitalwatch.cluster.partition import Partition
from vitalwatch.config import Settings
from vitalwatch.db import unit_of_work
from vitalwatch.live.hub import Hub
from vitalwatch.logging import get_logger
from vitalwatch.metrics import PARTITIONS_OWNED
from vitalwatch.notify.outbox import Outbox
from vitalwatch.readings.latest import LatestStore
from vitalwatch.readings.writer import IngestResult
from vitalwatch.samples import SampleColumns
from vitalwatch.sessions.ports import Evaluators

log = get_logger(__name__)


class Cluster(Evaluators, Protocol):
    """What handlers call: the sessions domain's `Evaluators` (submit, session
    changes, struck readings, observations, ownership), alarm commands, the
    process's readiness, and its start and stop."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def alarm_action(
        self, alarm_id: int, action: str, seconds: int | None, actor: Actor
    ) -> AlarmOut:
        """Acknowledge or silence an alarm where its session is evaluated."""
        ...

    async def problem(self) -> str | None:
        """Why this process cannot serve right now (readiness), or None."""
        ...


async def alarm_session(maker: async_sessionmaker[AsyncSession], alarm_id: int) -> int:
    """The session of an open alarm (AlarmNotFound, AlarmResolved otherwise)."""
    async with unit_of_work(maker) as db:
        alarm = await alarms_repo.get(db, alarm_id)
    if alarm is None:
        raise AlarmNotFound(alarm_id)
    if alarm.state == "resolved":
        raise AlarmResolved(alarm_id)
    return alarm.session_id or 0  # the station's own alarm: evaluated with partition 0


async def run_action(
    partition: Partition,
    alarm_id: int,
    action: str,
    seconds: int | None,
    actor: Actor,
) -> AlarmOut:
    if action == "acknowledge":
        return await partition.alarms.acknowledge(alarm_id, actor)
    if action == "silence":
        return await partition.alarms.silence(alarm_id, seconds or 120, actor)
    raise ValueError(f"unknown alarm action {action!r}")


class LocalCluster:
    """One process evaluates every session (the embedded default)."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        maker: async_sessionmaker[AsyncSession],
        hub: Hub,
        latest: LatestStore,
        notifications: Outbox | None = None,
    ) -> None:
        self._maker = maker
        self.partition = Partition(
            0, 1, settings, engine, maker, hub, latest, notifications=notifications
        )

    async def start(self) -> None:
        await self.partition.start()
        PARTITIONS_OWNED.set(1)

    async def stop(self) -> None:
        await self.partition.stop()
        PARTITIONS_OWNED.set(0)

    async def submit(self, device_id: int, columns: SampleColumns) -> IngestResult:
        return await self.partition.writer.submit(device_id, columns)

    async def session_changed(self, session_id: int) -> None:
        await self.partition.alarms.reload_session(session_id)

    async def alarm_action(
        self, alarm_id: int, action: str, seconds: int | None, actor: Actor
    ) -> AlarmOut:
        return await run_action(self.partition, alarm_id, action, seconds, actor)

    async def readings_struck(self, session_id: int) -> None:
        await self.partition.alarms.rebuild()

    async def problem(self) -> str | None:
        return None

    def owns(self, session_id: int) -> bool:
        return True

    async def observe(self, session_id: int, kind: str, value: float, ts: datetime) -> None:
        await self.partition.alarms.observe(session_id, kind, value, ts)
