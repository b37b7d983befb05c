"""The durable side of live traffic: `alarm` and `session` events (the outbox).

An event is written to `live_events` in the transaction that made the change
and published only after that commit (to this process's dashboards and, in
production mode, to the other processes). Each process delivers events
strictly in id order: a gap is read from the table, a periodic read finds
events whose publisher died between commit and publish, and a dashboard that
reconnects with `since` is replayed from the table.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from vitalwatch.db import on_commit, unit_of_work
from vitalwatch.live import repository
from vitalwatch.logging import get_logger
from vitalwatch.tasks import cancel_and_wait

log = get_logger(__name__)

Publisher = Callable[[int, str, dict[str, Any]], None]
Deliver = Callable[[str, int, dict[str, Any]], None]

#: How many recent alarm events are remembered for dashboards' confirmations.
RECENT_ALARM_EVENTS = 50_000
#: How often the database is asked for events whose publisher died between
#: commit and publish (the safety net behind the fast path).
EVENT_POLL_S = 1.0
#: Most events read at once to fill a gap.
_FILL_LIMIT = 5_000


def event_text(type_: str, event_id: int, payload: dict[str, Any]) -> str:
    """An event as every dashboard receives it (serialised once)."""
    return orjson.dumps({"type": type_, "event_id": event_id, **payload}).decode()


class EventLog:
    def __init__(self, maker: async_sessionmaker[AsyncSession], deliver: Deliver) -> None:
        self._maker = maker
        self._deliver = deliver
        #: Every committed event goes here first: to other processes (Redis) as
        #: well as to `offer` in this one (Hub.attach, in production mode).
        self.publisher: Publisher = self.offer
        #: The highest event id delivered to this process's dashboards: events
        #: are delivered strictly in id order, without gaps that later fill.
        self.last_event_id = 0
        self._waiting: dict[int, tuple[str, dict[str, Any]]] = {}
        self._arrived = asyncio.Event()
        #: The alarm of each recent alarm event: dashboards confirm events by id.
        self.alarm_of_event: OrderedDict[int, int] = OrderedDict()
        self._task: asyncio.Task[None] | None = None

    async def emit(self, db: AsyncSession, type_: str, payload: dict[str, Any]) -> int:
        """Record an event in the caller's transaction; published once it commits."""
        event_id = await record(await db.connection(), type_, payload)

        async def _publish() -> None:
            self.publisher(event_id, type_, payload)

        on_commit(db, _publish)
        return event_id

    def offer(self, event_id: int, type_: str, payload: dict[str, Any]) -> None:
        """A committed event (from this process or another): delivered in id order."""
        if event_id > self.last_event_id:
            self._waiting[event_id] = (type_, payload)
            self._arrived.set()

    def delivered(self, type_: str, event_id: int, payload: dict[str, Any]) -> None:
        """Note an event handed to the dashboards (in order, or directly)."""
        self.last_event_id = max(self.last_event_id, event_id)
        if type_ == "alarm":
            self.alarm_of_event[event_id] = int(payload["alarm"]["id"])
            if len(self.alarm_of_event) > RECENT_ALARM_EVENTS:
                self.alarm_of_event.popitem(last=False)

    async def _deliver_in_order(self) -> None:
        """Deliver waiting events in id order; fill gaps from the database.

        Ids follow commit order (see repository.EVENT_ORDER_LOCK), so once
        event N has arrived every lower id has committed or never will: a gap
        is read from the table at once. A periodic read also catches events
        whose publisher died after its commit.
        """
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), EVENT_POLL_S)
            self._arrived.clear()
            try:
                nxt = self.last_event_id + 1
                if self._waiting and min(self._waiting) != nxt:
                    await self._fill(max(self._waiting))
                elif not self._waiting:
                    await self._fill(None)
                for event_id in sorted(self._waiting):
                    type_, payload = self._waiting.pop(event_id)
                    if event_id > self.last_event_id:
                        self._deliver(type_, event_id, payload)
            except Exception:
                log.exception("live_delivery_failed")
                await asyncio.sleep(EVENT_POLL_S)

    async def _fill(self, upto: int | None) -> None:
        """Add committed events after the last delivered one (up to `upto`) to the wait list."""
        async with unit_of_work(self._maker) as db:
            rows = await repository.events_after(db, self.last_event_id, upto, _FILL_LIMIT)
        for event_id, type_, payload in rows:
            self._waiting.setdefault(event_id, (type_, payload))

    async def start(self) -> None:
        async with unit_of_work(self._maker) as db:
            self.last_event_id = await repository.latest_event_id(db)
        self._task = asyncio.create_task(self._deliver_in_order(), name="live-events")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None


async def record(conn: AsyncConnection, type_: str, payload: dict[str, Any]) -> int:
    """Record an event on a Core connection (the ingest transaction); its id."""
    return await repository.insert_event(conn, type_, payload)


async def replay(db: AsyncSession, since: int) -> list[tuple[int, str]]:
    """Every durable event after `since`, oldest first, as ready-to-send text."""
    rows = await repository.events_after(db, since)
    return [(i, event_text(t, i, p)) for i, t, p in rows]


async def prune(db: AsyncSession, older_than: datetime) -> None:
    """Drop events older than any replay may ask for."""
    await repository.prune(db, older_than)
