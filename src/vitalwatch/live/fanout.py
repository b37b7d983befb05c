"""The fan-out side of live traffic: connected dashboards, each with a bounded
queue of durable events and a pending `vitals` frame.

- A dashboard that cannot keep up with durable events is disconnected (4408);
  it reconnects with `since` and is replayed, rather than silently skipping one.
- `vitals` are coalesced: every `vitals_interval_s` the sessions that changed
  are merged into each dashboard's pending frame (latest value per session), so
  a slow screen gets fewer, fresher frames and never holds anyone up.
Every message is serialised once and the same text goes to every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Sized
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from vitalwatch.logging import get_logger
from vitalwatch.metrics import LIVE_CLIENTS, LIVE_DROPPED
from vitalwatch.tasks import cancel_and_wait

log = get_logger(__name__)

#: Close code sent to a dashboard that fell behind on alarm events.
CLOSE_FELL_BEHIND = 4408

Sender = Callable[[str], Awaitable[None]]
Closer = Callable[[int, str], Coroutine[Any, Any, None]]


class VitalsSource(Protocol):
    """The latest values per session (readings/latest.py), as the fan-out needs them."""

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
    task: asyncio.Task[None] | None = None  # the sender, while serving

    def __post_init__(self) -> None:
        self.durable = asyncio.Queue(maxsize=self.max_queue)

    def offer(self, event_id: int, text: str) -> bool:
        try:
            self.durable.put_nowait((event_id, text))
        except asyncio.QueueFull:
            return False
        self.wake.set()
        return True


def _frame(type_: str, event_id: int, payload: dict[str, Any]) -> str:
    return orjson.dumps({"type": type_, "event_id": event_id, **payload}).decode()


class Fanout:
    def __init__(
        self,
        latest: VitalsSource,
        *,
        vitals_interval_s: float,
        ping_interval_s: float,
        max_queue: int,
    ) -> None:
        self._latest = latest
        self._vitals_interval_s = vitals_interval_s
        self._ping_interval_s = ping_interval_s
        self._max_queue = max_queue
        self._clients: set[Client] = set()
        self._closing: set[asyncio.Task[None]] = set()  # keeps close tasks referenced
        self._task: asyncio.Task[None] | None = None

    def connect(self, send: Sender, close: Closer) -> Client:
        """Register a dashboard; events dispatched from now on queue up for it."""
        client = Client(send=send, close=close, max_queue=self._max_queue)
        self._clients.add(client)
        LIVE_CLIENTS.set(len(self._clients))
        return client

    def disconnect(self, client: Client) -> None:
        self._clients.discard(client)
        LIVE_CLIENTS.set(len(self._clients))

    def send_event(self, event_id: int, text: str) -> None:
        """Queue a durable event for every dashboard, without waiting."""
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

    async def serve(self, client: Client, first: list[tuple[int, str]]) -> None:
        """Send `first` (snapshot, replay), then live traffic, until the socket fails."""
        client.task = asyncio.current_task()
        for event_id, text in first:
            await client.send(text)
            client.last_event_id = max(client.last_event_id, event_id)
        client.last_sent = time.monotonic()
        while True:
            timeout = max(0.0, client.last_sent + self._ping_interval_s - time.monotonic())
            if not client.wake.is_set():
                # asyncio.timeout, not wait_for: no task per wait (200 dashboards
                # wake four times a second).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await client.wake.wait()
            client.wake.clear()
            sent = False
            while not client.durable.empty():
                event_id, text = client.durable.get_nowait()
                if event_id <= client.last_event_id:
                    continue  # already sent in the replay
                await client.send(text)
                client.last_event_id = event_id
                sent = True
            if sent and (client.shared is not None or client.vitals):
                # Every other dashboard's alarm before this one's vitals frame: the
                # senders woken by the same event run in turn.
                await asyncio.sleep(0)
            if client.shared is not None:
                text, client.shared = client.shared[1], None
                await client.send(
                    f'{{"type":"vitals","event_id":{client.last_event_id},"items":{text}}}'
                )
                sent = True
            elif client.vitals:
                items, client.vitals = list(client.vitals.values()), {}
                await client.send(_frame("vitals", client.last_event_id, {"items": items}))
                sent = True
            if not sent and time.monotonic() - client.last_sent >= self._ping_interval_s:
                await client.send(_frame("ping", client.last_event_id, {}))
                sent = True
            if sent:
                client.last_sent = time.monotonic()

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

    def start(self) -> None:
        self._task = asyncio.create_task(self._tick_vitals(), name="live-vitals")

    async def stop(self) -> None:
        """Stop the vitals ticks and close every dashboard (the service is stopping)."""
        await cancel_and_wait(self._task)
        self._task = None
        for client in list(self._clients):
            with contextlib.suppress(Exception):
                await client.close(1001, "service shutting down")
        self._clients.clear()
