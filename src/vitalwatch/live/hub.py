"""Fan-out of live events to dashboards.

Two kinds of traffic, treated differently:
- `alarm` and `session` events are durable: written to `live_events` in the
  transaction that made the change, dispatched only after it commits, and
  replayed from the table to a dashboard that reconnects with `since`. A
  dashboard that cannot keep up with them is disconnected (it reconnects and
  is replayed) rather than silently skipping one.
- `vitals` are coalesced: every `vitals_interval_s` the sessions that changed
  are merged into each dashboard's pending frame (latest value per session),
  so a slow screen gets fewer, fresher frames and never holds anyone up.
Every message is serialised once and the same text goes to every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from vitalwatch.db import on_commit
from vitalwatch.live.models import LiveEvent
from vitalwatch.logging import get_logger
from vitalwatch.metrics import LIVE_CLIENTS, LIVE_DROPPED

log = get_logger(__name__)

#: Close code sent to a dashboard that fell behind on alarm events.
CLOSE_FELL_BEHIND = 4408

Sender = Callable[[str], Awaitable[None]]
Closer = Callable[[int, str], Coroutine[Any, Any, None]]
Publisher = Callable[[int, str, dict[str, Any]], None]

#: PostgreSQL transaction-level advisory lock taken before a live event is
#: inserted: the events' ids then follow commit order (a lower id can never
#: commit after a higher one is visible), which replay with `since` and the
#: in-order delivery below rely on. SQLite already serialises writers.
EVENT_ORDER_LOCK = 0x56574C45  # "VWLE"
#: How many recent alarm events are remembered for dashboards' confirmations.
RECENT_ALARM_EVENTS = 50_000
#: How often the database is asked for events whose publisher died between
#: commit and publish (the safety net behind the fast path).
EVENT_POLL_S = 1.0


async def _lock_event_order(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(sql("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_ORDER_LOCK})


class VitalsSource(Protocol):
    """The latest values per session (readings/latest.py), as the hub needs them."""

    def take_items(self) -> list[dict[str, Any]]:
        """The sessions changed since the last take, as `vitals` items."""
        ...

    def take_dirty(self) -> Sized:
        """Forget which sessions changed (nobody is watching)."""
        ...

    def forget(self, session_id: int) -> None: ...


@dataclass(eq=False)
class Client:
    """One connected dashboard: a bounded queue of durable events plus pending vitals."""

    send: Sender
    close: Closer
    max_queue: int
    durable: asyncio.Queue[tuple[int, str]] = field(init=False)
    vitals: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: A whole tick's items, serialised once for every dashboard that is keeping
    #: up; merged into `vitals` only when another tick arrives before it is sent.
    shared: tuple[list[dict[str, Any]], str] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    last_event_id: int = 0
    last_sent: float = field(default_factory=time.monotonic)
    overflowed: bool = False
    task: asyncio.Task[None] | None = None  # the sender, while serving

    def __post_init__(self) -> None:
        self.durable = asyncio.Queue(maxsize=self.max_queue)

    def offer(self, event_id: int, text: str) -> bool:
        try:
            self.durable.put_nowait((event_id, text))
        except asyncio.QueueFull:
            self.overflowed = True
            return False
        self.wake.set()
        return True


class Hub:
    def __init__(
        self,
        latest: VitalsSource,
        maker: async_sessionmaker[AsyncSession],
        *,
        vitals_interval_s: float = 0.25,
        ping_interval_s: float = 5.0,
        max_queue: int = 2_000,
    ) -> None:
        self._latest = latest
        self._maker = maker
        self._vitals_interval_s = vitals_interval_s
        self._ping_interval_s = ping_interval_s
        self._max_queue = max_queue
        self._clients: set[Client] = set()
        self._closing: set[asyncio.Task[None]] = set()  # keeps close tasks referenced
        self._tasks: list[asyncio.Task[None]] = []
        #: Every committed event goes here first: to other processes (Redis) as
        #: well as to `offer` in this one. Set by the cluster layer.
        self.publisher: Publisher = self.offer
        #: Told the id of every session whose committed change is delivered here.
        #: Set by the cluster layer: the process evaluating the session reloads
        #: it, even when the direct message to it was lost (this event reaches
        #: every process from the database as well as through Redis).
        self.on_session_change: Callable[[int], None] | None = None
        #: The highest event id delivered to this process's dashboards: events
        #: are delivered strictly in id order, without gaps that later fill.
        self.last_event_id = 0
        self._waiting: dict[int, tuple[str, dict[str, Any]]] = {}
        self._arrived = asyncio.Event()
        #: The alarm of each recent alarm event: dashboards confirm events by id.
        self.alarm_of_event: OrderedDict[int, int] = OrderedDict()

    # -- durable events -------------------------------------------------------------

    async def emit(self, db: AsyncSession, type_: str, payload: dict[str, Any]) -> int:
        """Record an event in the caller's transaction; published once it commits."""
        await _lock_event_order(await db.connection())
        event = LiveEvent(type=type_, payload=payload)
        db.add(event)
        await db.flush()
        event_id = event.id

        async def _publish() -> None:
            self.publisher(event_id, type_, payload)

        on_commit(db, _publish)
        return event_id

    @staticmethod
    async def record(conn: AsyncConnection, type_: str, payload: dict[str, Any]) -> int:
        """Record an event on a Core connection (the ingest transaction)."""
        await _lock_event_order(conn)
        result = await conn.execute(
            insert(LiveEvent)
            .values(type=type_, payload=payload, created_at=datetime.now(UTC))
            .returning(LiveEvent.id)
        )
        return int(result.scalar_one())

    def offer(self, event_id: int, type_: str, payload: dict[str, Any]) -> None:
        """A committed event (from this process or another): delivered in id order."""
        if event_id > self.last_event_id:
            self._waiting[event_id] = (type_, payload)
            self._arrived.set()

    async def _deliver_in_order(self) -> None:
        """Deliver waiting events in id order; fill gaps from the database.

        Ids follow commit order (see EVENT_ORDER_LOCK), so once event N has
        arrived every lower id has committed or never will: a gap is read from
        the table at once. A periodic read also catches events whose publisher
        died after its commit.
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
                        self.dispatch(type_, event_id, payload)
            except Exception:
                log.exception("live_delivery_failed")
                await asyncio.sleep(EVENT_POLL_S)

    async def _fill(self, upto: int | None) -> None:
        """Add committed events after the last delivered one (up to `upto`) to the wait list."""
        query = select(LiveEvent.id, LiveEvent.type, LiveEvent.payload).where(
            LiveEvent.id > self.last_event_id
        )
        if upto is not None:
            query = query.where(LiveEvent.id <= upto)
        async with self._maker() as db:
            rows = (await db.execute(query.order_by(LiveEvent.id).limit(5_000))).all()
        for event_id, type_, payload in rows:
            self._waiting.setdefault(int(event_id), (type_, payload))

    def dispatch(self, type_: str, event_id: int, payload: dict[str, Any]) -> None:
        """Deliver a committed event to every connected dashboard, without waiting."""
        self.last_event_id = max(self.last_event_id, event_id)
        if type_ == "alarm":
            self.alarm_of_event[event_id] = int(payload["alarm"]["id"])
            if len(self.alarm_of_event) > RECENT_ALARM_EVENTS:
                self.alarm_of_event.popitem(last=False)
        if type_ == "session":
            session = payload["session"]
            if session.get("status") == "ended":
                self._latest.forget(int(session["id"]))  # no state kept for it
            if self.on_session_change is not None:
                self.on_session_change(int(session["id"]))
        text = orjson.dumps({"type": type_, "event_id": event_id, **payload}).decode()
        for client in list(self._clients):
            if not client.offer(event_id, text):
                self._drop(client)

    def _drop(self, client: Client) -> None:
        """A dashboard that fell behind on alarm events: stop its sender (which may be
        stuck in a send that never returns) and tell it to reconnect with `since`."""
        self.disconnect(client)
        LIVE_DROPPED.inc()
        log.warning("live_client_fell_behind", queued=client.durable.qsize())
        if client.task is not None:
            client.task.cancel()
        self._closing.add(
            asyncio.create_task(
                client.close(CLOSE_FELL_BEHIND, "fell behind: reconnect with since")
            )
        )

    async def replay(self, db: AsyncSession, since: int) -> list[tuple[int, str]]:
        """Every durable event after `since`, oldest first, as ready-to-send text."""
        rows = (
            await db.execute(
                select(LiveEvent.id, LiveEvent.type, LiveEvent.payload)
                .where(LiveEvent.id > since)
                .order_by(LiveEvent.id)
            )
        ).all()
        return [
            (int(i), orjson.dumps({"type": t, "event_id": int(i), **p}).decode())
            for i, t, p in rows
        ]

    @staticmethod
    async def latest_event_id(db: AsyncSession) -> int:
        row = (
            await db.execute(select(LiveEvent.id).order_by(LiveEvent.id.desc()).limit(1))
        ).first()
        return int(row[0]) if row else 0

    @staticmethod
    async def prune(db: AsyncSession, older_than: datetime) -> None:
        await db.execute(delete(LiveEvent).where(LiveEvent.created_at < older_than))

    # -- clients --------------------------------------------------------------------

    def connect(self, send: Sender, close: Closer) -> Client:
        """Register a dashboard; events dispatched from now on queue up for it."""
        client = Client(send=send, close=close, max_queue=self._max_queue)
        self._clients.add(client)
        LIVE_CLIENTS.set(len(self._clients))
        return client

    def disconnect(self, client: Client) -> None:
        self._clients.discard(client)
        LIVE_CLIENTS.set(len(self._clients))

    async def serve(self, client: Client, first: list[tuple[int, str]]) -> None:
        """Send `first` (snapshot, replay), then live traffic, until the socket fails."""
        client.task = asyncio.current_task()
        for event_id, text in first:
            await client.send(text)
            client.last_event_id = max(client.last_event_id, event_id)
        client.last_sent = time.monotonic()
        while True:
            timeout = max(0.0, client.last_sent + self._ping_interval_s - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client.wake.wait(), timeout)
            client.wake.clear()
            sent = False
            while not client.durable.empty():
                event_id, text = client.durable.get_nowait()
                if event_id <= client.last_event_id:
                    continue  # already sent in the replay
                await client.send(text)
                client.last_event_id = event_id
                sent = True
            if client.shared is not None:
                text, client.shared = client.shared[1], None
                await client.send(
                    f'{{"type":"vitals","event_id":{client.last_event_id},"items":{text}}}'
                )
                sent = True
            elif client.vitals:
                items, client.vitals = list(client.vitals.values()), {}
                await client.send(self._frame("vitals", client.last_event_id, {"items": items}))
                sent = True
            if not sent and time.monotonic() - client.last_sent >= self._ping_interval_s:
                await client.send(self._frame("ping", client.last_event_id, {}))
                sent = True
            if sent:
                client.last_sent = time.monotonic()

    @staticmethod
    def _frame(type_: str, event_id: int, payload: dict[str, Any]) -> str:
        return orjson.dumps({"type": type_, "event_id": event_id, **payload}).decode()

    # -- vitals ---------------------------------------------------------------------

    def push_vitals(self, items: list[dict[str, Any]]) -> None:
        """Merge items into every dashboard's pending frame (latest per session wins).

        The items are serialised once per tick; a dashboard only gets a merged
        frame of its own when it is still sending the previous tick's.
        """
        if not items:
            return
        shared = (items, orjson.dumps(items).decode())
        for client in self._clients:
            if client.shared is None and not client.vitals:
                client.shared = shared
            else:
                if client.shared is not None:
                    for item in client.shared[0]:
                        client.vitals[item["session_id"]] = item
                    client.shared = None
                for item in items:
                    client.vitals[item["session_id"]] = item
            client.wake.set()

    async def _tick_vitals(self) -> None:
        while True:
            await asyncio.sleep(self._vitals_interval_s)
            if self._clients:
                self.push_vitals(self._latest.take_items())
            else:
                self._latest.take_dirty()

    async def start(self) -> None:
        async with self._maker() as db:
            self.last_event_id = await self.latest_event_id(db)
        self._tasks = [
            asyncio.create_task(self._tick_vitals(), name="live-vitals"),
            asyncio.create_task(self._deliver_in_order(), name="live-events"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for client in list(self._clients):
            with contextlib.suppress(Exception):
                await client.close(1001, "service shutting down")
        self._clients.clear()
