"""Per-process upkeep, on a timer: devices' last-seen times flushed, old live
events pruned and, when a retention is set, old sessions' readings deleted.

Every process does it (one or several); it is not part of evaluating alarms,
so it lives beside the app that starts it, not in the cluster.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.config import Settings
from vitalwatch.db import unit_of_work
from vitalwatch.devices.service import DeviceDirectory
from vitalwatch.live.hub import Hub
from vitalwatch.logging import get_logger
from vitalwatch.readings import repository as readings_repo
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.tasks import cancel_and_wait

log = get_logger(__name__)

_FLUSH_S = 5.0
_PRUNE_S = 3600.0
_PRUNE_BATCH = 10_000


class Housekeeping:
    """Per-process upkeep: device last-seen flush, pruning old live events and,
    when a retention is set, old sessions' readings."""

    def __init__(
        self,
        settings: Settings,
        maker: async_sessionmaker[AsyncSession],
        hub: Hub,
        devices: DeviceDirectory,
    ) -> None:
        self._settings = settings
        self._maker = maker
        self._hub = hub
        self._devices = devices
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="housekeeping")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self._devices.flush()

    async def _run(self) -> None:
        last_prune = 0.0
        while True:
            await asyncio.sleep(_FLUSH_S)
            try:
                await self._devices.flush()
                now = asyncio.get_running_loop().time()
                if now - last_prune >= _PRUNE_S:
                    last_prune = now
                    cutoff = datetime.now(UTC) - timedelta(seconds=self._settings.event_retention_s)
                    async with unit_of_work(self._maker) as db:
                        await self._hub.prune(db, cutoff)
                    days = self._settings.readings_retention_days
                    if days is not None:
                        await prune_old_readings(self._maker, days)
            except Exception:
                log.exception("housekeeping_failed")


async def prune_old_readings(maker: async_sessionmaker[AsyncSession], days: int) -> int:
    """Delete the readings of sessions that ended more than `days` ago, in short
    transactions (so ingest is never held up); returns how many rows went."""
    ended = sessions_repo.ended_before(datetime.now(UTC) - timedelta(days=days))
    total = 0
    while True:
        async with unit_of_work(maker) as db:
            deleted = await readings_repo.delete_of_sessions(db, ended, _PRUNE_BATCH)
        total += deleted
        if deleted == 0:
            break
        await asyncio.sleep(0)  # let ingest in between batches
    if total:
        log.info("readings_pruned", rows=total, retention_days=days)
    return total
