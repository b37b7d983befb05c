"""One partition's evaluation: its alarm service and its group-commit writer.

Samples of the partition's sessions are stored and evaluated in one
transaction by the partition's writer, so a sample is evaluated exactly once:
by the transaction that stored it (a repeated sample is a duplicate and is
not evaluated again). The partition is what its alarm service and its
writer know of the cluster: the alarm service's `Ownership` (which sessions,
and the fence) and the writer's `SessionScope` (the same sessions: a sample
of another partition's session is refused unstored).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from vitalwatch.alarms.ports import CommandSource
from vitalwatch.alarms.service import AlarmService
from vitalwatch.cluster import repository
from vitalwatch.config import Settings
from vitalwatch.live.hub import Hub
from vitalwatch.notify.outbox import Outbox
from vitalwatch.notify.sender import NotifySender
from vitalwatch.readings.writer import GroupCommitWriter, IngestListener
from vitalwatch.sessions import repository as sessions_repo


class LeaseLost(Exception):
    """Another process has taken over the partition: this transaction must not commit."""


class Partition:
    def __init__(
        self,
        index: int,
        count: int,
        settings: Settings,
        engine: AsyncEngine,
        maker: async_sessionmaker[AsyncSession],
        hub: Hub,
        vitals: IngestListener,
        epoch: int | None = None,
        notifications: Outbox | None = None,
        commands: CommandSource | None = None,
    ) -> None:
        self.index = index
        self.count = count
        self.epoch = epoch
        self.lost = False
        self.alarms = AlarmService(
            settings, maker, hub, ownership=self, notifications=notifications, commands=commands
        )
        #: Sends this partition's secondary notifications (only its owner does).
        self.sender = (
            None
            if notifications is None
            else NotifySender(
                settings,
                maker,
                notifications,
                index=index,
                count=count,
                fence=self.fence,
            )
        )
        self.writer = GroupCommitWriter(
            engine,
            sessions_repo.note_on_timeline,
            max_rows=settings.ingest_max_batch_rows,
            lock=self.alarms.lock,  # one lock for all alarm state: ingest, clock, staff
            scope=self if count > 1 else None,  # one partition: every session
        )
        self.writer.add_listener(vitals)
        self.writer.add_listener(self.alarms)

    # -- alarms.ports.Ownership: the alarm service's view of the partition ---------

    @property
    def name(self) -> str:
        return str(self.index)

    def owns(self, session_id: int) -> bool:
        return session_id % self.count == self.index

    async def fence(self, conn: AsyncConnection) -> None:
        """Still this process's partition (its epoch current)? LeaseLost otherwise.
        One process (no epoch): always."""
        if self.epoch is None:
            return
        if self.lost or not await repository.still_owner(conn, self.index, self.epoch):
            self.lost = True
            raise LeaseLost(f"partition {self.index} is owned by another process now")

    # -- readings.writer.SessionScope: the writer's view of the partition -----------

    def covers(self, session_id: int) -> bool:
        """The writer stores (and evaluates) the samples of the sessions held here."""
        return self.owns(session_id)

    async def start(self) -> None:
        """Rebuild the partition's alarm state from the database, then take samples."""
        await self.alarms.start()
        if self.sender is not None:
            await self.sender.start()
        self.writer.start()

    async def stop(self) -> None:
        """Finish the queued samples, then stop the alarm clock."""
        await self.writer.stop()
        if self.sender is not None:
            await self.sender.stop()
        await self.alarms.stop()
