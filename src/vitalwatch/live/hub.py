"""The live hub: the event log (events.py: outbox, in-order delivery, gaps,
replay, pruning) feeding the fan-out (fanout.py: dashboards, backpressure,
vitals coalescing). The rest of the service talks to this one object.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from vitalwatch.live import events, repository
from vitalwatch.live.events import EventLog, Publisher, event_text
from vitalwatch.live.fanout import CLOSE_FELL_BEHIND, Client, Closer, Fanout, Sender, VitalsSource

__all__ = ["CLOSE_FELL_BEHIND", "Client", "Hub", "Publisher", "VitalsSource"]


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
        self.events = EventLog(maker, self.dispatch)
        self.fanout = Fanout(
            latest,
            vitals_interval_s=vitals_interval_s,
            ping_interval_s=ping_interval_s,
            max_queue=max_queue,
        )
        self._on_session_change: Callable[[int], None] | None = None

    def attach(self, publish: Publisher, on_session_change: Callable[[int], None]) -> None:
        """Several processes (cluster/distributed.py): committed events go to
        `publish` (Redis, and this process's `offer`) instead of only here, and
        `on_session_change` is told the id of every session whose committed
        change is delivered here, so the process evaluating it reloads it even
        when the direct message was lost (the event also comes from the table)."""
        self.events.publisher = publish
        self._on_session_change = on_session_change

    # -- the event log ----------------------------------------------------------------

    def publish(self, event_id: int, type_: str, payload: dict[str, Any]) -> None:
        """A committed event: to every process's dashboards (this one's alone
        until `attach`)."""
        self.events.publisher(event_id, type_, payload)

    @property
    def last_event_id(self) -> int:
        return self.events.last_event_id

    @property
    def alarm_of_event(self) -> OrderedDict[int, int]:
        return self.events.alarm_of_event

    async def emit(self, db: AsyncSession, type_: str, payload: dict[str, Any]) -> int:
        """Record an event in the caller's transaction; published once it commits."""
        return await self.events.emit(db, type_, payload)

    @staticmethod
    async def record(conn: AsyncConnection, type_: str, payload: dict[str, Any]) -> int:
        """Record an event on a Core connection (the ingest transaction)."""
        return await events.record(conn, type_, payload)

    def offer(self, event_id: int, type_: str, payload: dict[str, Any]) -> None:
        """A committed event (from this process or another): delivered in id order."""
        self.events.offer(event_id, type_, payload)

    async def replay(self, db: AsyncSession, since: int) -> list[tuple[int, str]]:
        """Every durable event after `since`, oldest first, as ready-to-send text."""
        return await events.replay(db, since)

    @staticmethod
    async def latest_event_id(db: AsyncSession) -> int:
        return await repository.latest_event_id(db)

    @staticmethod
    async def prune(db: AsyncSession, older_than: datetime) -> None:
        await events.prune(db, older_than)

    def dispatch(self, type_: str, event_id: int, payload: dict[str, Any]) -> None:
        """Deliver a committed event to every connected dashboard, without waiting."""
        self.events.delivered(type_, event_id, payload)
        if type_ == "session":
            session = payload["session"]
            if session.get("status") == "ended":
                self._latest.forget(int(session["id"]))  # no state kept for it
            if self._on_session_change is not None:
                self._on_session_change(int(session["id"]))
        self.fanout.send_event(event_id, event_text(type_, event_id, payload))

    # -- the dashboards ---------------------------------------------------------------

    def connect(self, send: Sender, close: Closer) -> Client:
        """Register a dashboard; events dispatched from now on queue up for it."""
        return self.fanout.connect(send, close)

    def disconnect(self, client: Client) -> None:
        self.fanout.disconnect(client)

    async def serve(self, client: Client, first: list[tuple[int, str]]) -> None:
        """Send `first` (snapshot, replay), then live traffic, until the socket fails."""
        await self.fanout.serve(client, first)

    def push_vitals(self, items: list[dict[str, Any]]) -> None:
        """Merge items into every dashboard's pending vitals frame."""
        self.fanout.push_vitals(items)

    async def start(self) -> None:
        self.fanout.start()
        await self.events.start()

    async def stop(self) -> None:
        await self.events.stop()
        await self.fanout.stop()
