"""Several service processes on PostgreSQL, with Redis Streams between them.

Sessions are split into partitions (`session_id % partitions`). Each
partition is evaluated by exactly one process at a time, the holder of its
lease (`<prefix>:lease:<p>`, renewed every second, lost after `lease_ttl_s`).
Whichever process a device or nurse reaches, the work goes to the owner:

    request -> XADD <prefix>:part:<p> -> owner's XREADGROUP -> store + evaluate
            <- XREAD <prefix>:reply:<requester> <- XADD reply after the commit

An entry is acknowledged (XACK + XDEL) only once the owner has committed it,
so when an owner dies its unfinished entries stay pending and the next owner
claims them (XAUTOCLAIM) and answers the waiting requester itself. The
database makes it exact: a new owner bumps the partition's fencing epoch
before rebuilding its alarm state, every transaction of an owner checks its
epoch, and a sample is evaluated only by the transaction that stored it.

Committed live events are appended to `<prefix>:live` and every process
delivers them in id order (gaps are read from the database); the latest
vitals of each commit go to `<prefix>:vitals`. Both are streams read by every
process; neither needs to be durable, because the database is the record.

The parts, composed here: `node.Node` (this process: its Redis client, keys,
the partitions it serves and its background work, shared by the others),
`leases.Leases` (which partitions this process evaluates), `messages.Messages`
(the partition streams: the owner runs routed work, the requester waits for
the reply) and `fanout.Fanout` (live events and vitals to every process).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitalwatch.alarms.errors import AlarmNotFound, AlarmResolved
from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.audit.service import Actor
from vitalwatch.cluster.commands import StreamCommands
from vitalwatch.cluster.fanout import Fanout
from vitalwatch.cluster.leases import Leases
from vitalwatch.cluster.messages import Messages
from vitalwatch.cluster.node import GROUP, Node
from vitalwatch.cluster.partition import Partition
from vitalwatch.cluster.routes import DeviceRoutes
from vitalwatch.cluster.service import alarm_session
from vitalwatch.config import Settings
from vitalwatch.db import unit_of_work
from vitalwatch.errors import Unavailable
from vitalwatch.live.hub import Hub
from vitalwatch.logging import get_logger
from vitalwatch.metrics import PARTITIONS_OWNED
from vitalwatch.notify.outbox import Outbox
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.latest import LatestStore
from vitalwatch.readings.repeats import SampleConflict
from vitalwatch.readings.writer import DeviceNotBound, IngestResult, IngestUnavailable
from vitalwatch.samples import SampleColumns
from vitalwatch.tasks import cancel_and_wait

__all__ = ["GROUP", "RedisCluster"]

log = get_logger(__name__)

#: The refusals of a staff action that travel back to the requester, by name
#: (a domain error, not an HTTP status: the requester's edge answers it).
_REFUSALS: dict[str, type[AlarmNotFound | AlarmResolved]] = {
    "AlarmNotFound": AlarmNotFound,
    "AlarmResolved": AlarmResolved,
}


class RedisCluster:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        maker: async_sessionmaker[AsyncSession],
        hub: Hub,
        latest: LatestStore,
        notifications: Outbox | None = None,
    ) -> None:
        assert settings.redis_url is not None
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        #: Typed Any: redis-py types replies as unions of str and bytes; without
        #: decode_responses every reply here is bytes.
        #: A blocking pool: under a burst of requests a command waits for a free
        #: connection instead of failing (redis-py's default pool raises at 100).
        #: A command that meets a dead connection (every pooled one, after a
        #: Redis restart) reconnects and is sent again: without this, each stale
        #: connection failed once on first use, dropping an owner's reply.
        self.redis: Any = Redis(
            connection_pool=BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=settings.redis_max_connections,
                timeout=10,
                socket_connect_timeout=3,
                health_check_interval=15,
                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=3),
                retry_on_error=[RedisConnectionError, RedisTimeoutError],
            )
        )
        self._maker = maker
        self._hub = hub
        #: Where each device's samples are sent (the partition of its session).
        self._routes = DeviceRoutes(maker)
        self._count = settings.partitions
        self._node = Node(self.name, self.redis, settings, self._count)
        #: Partitions this process evaluates now (the node's dict, not a copy).
        self.partitions: dict[int, Partition] = self._node.partitions
        self._messages = Messages(self._node)
        self._fanout = Fanout(self._node, hub, latest)
        self._leases = Leases(
            self._node,
            engine,
            maker,
            hub,
            self._fanout.vitals,
            self._messages.handle,
            notifications,
            # Alarm commands read from the streams: one delivered again runs once.
            StreamCommands(),
        )
        self._tasks: list[asyncio.Task[None]] = []

    def key(self, *parts: object) -> str:
        return self._node.key(*parts)

    def background(self, coro: Awaitable[Any]) -> None:
        """Run fire-and-forget work, keeping a reference and logging failure."""
        self._node.background(coro)

    # -- start and stop -----------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.redis.ping()
        except RedisError as exc:
            raise RuntimeError(f"Redis at VITALWATCH_REDIS_URL is not reachable: {exc}") from exc
        await self._leases.agree_on_partitions()
        for p in range(self._count):
            await self._node.ensure_group(p)
        live_start = await self._fanout.last_id(self.key("live"))
        vitals_start = await self._fanout.last_id(self.key("vitals"))
        self._hub.attach(self._fanout.publish_live, self._session_event)
        await self._leases.round()
        self._tasks = [
            asyncio.create_task(self._leases.run(), name="cluster-leases"),
            asyncio.create_task(self._messages.consume(), name="cluster-consume"),
            asyncio.create_task(self._messages.replies(), name="cluster-replies"),
            asyncio.create_task(self._fanout.follow_live(live_start), name="cluster-live"),
            asyncio.create_task(self._fanout.follow_vitals(vitals_start), name="cluster-vitals"),
        ]
        log.info("cluster_joined", process=self.name, partitions=sorted(self.partitions))

    async def stop(self) -> None:
        """Give every partition back (others take them at once), then leave."""
        for task in self._tasks[:1]:
            await cancel_and_wait(task)
        for p in sorted(self._leases.held):
            with contextlib.suppress(Exception):
                await self._leases.release(p)
        for task in self._tasks[1:]:
            await cancel_and_wait(task)
        self._messages.cancel_waiting()
        with contextlib.suppress(RedisError):
            await self.redis.zrem(self.key("members"), self.name)
            for p in range(self._count):
                await self.redis.xgroup_delconsumer(self.key("part", p), GROUP, self.name)
        if self._node.pending():
            await asyncio.wait(self._node.pending(), timeout=2)
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()
        PARTITIONS_OWNED.set(0)

    # -- the calls of the Cluster protocol ----------------------------------------------

    async def submit(self, device_id: int, columns: SampleColumns) -> IngestResult:
        fresh = False
        for _ in range(3):
            session_id = await self._routes.session_of(device_id, fresh=fresh)
            if session_id is None:
                if fresh:
                    raise DeviceNotBound()
                fresh = True
                continue
            try:
                reply = await self._messages.ask(
                    session_id,
                    {
                        "k": "ingest",
                        "d": device_id,
                        "q": columns.seq.astype(np.int64).tobytes(),
                        "t": columns.ts_ms.astype(np.int64).tobytes(),
                        "v": columns.values.astype(np.float64).tobytes(),
                    },
                )
            except (RedisError, TimeoutError) as exc:
                log.warning("cluster_ingest_unanswered", error=type(exc).__name__)
                if await self._stored(device_id, columns):
                    return IngestResult(len(columns), 0)
                raise IngestUnavailable() from None
            outcome = reply.get(b"o")
            if outcome == b"ok":
                return IngestResult(int(reply[b"a"]), int(reply[b"u"]))
            if outcome == b"conflict":
                raise SampleConflict.decode(reply[b"c"])
            if outcome == b"not_bound" and fresh:
                raise DeviceNotBound()
            if outcome not in (b"not_bound", b"misrouted"):
                raise IngestUnavailable()
            fresh = True  # the binding changed since it was cached: route again
        raise IngestUnavailable()

    async def _stored(self, device_id: int, columns: SampleColumns) -> bool:
        """The owner's answer was lost: its commit, if any, is in the database, and
        a sample stored must never be answered 503 (the device would keep it
        as unsent, and a clinic's audit would find it both stored and refused)."""
        try:
            async with unit_of_work(self._maker) as db:
                return await readings_repo.holds(await db.connection(), device_id, columns)
        except Exception as exc:  # the database too: the device retries
            log.warning("cluster_ingest_check_failed", error=type(exc).__name__)
            return False

    async def session_changed(self, session_id: int) -> None:
        """Have the owner reload the session before the staff request returns."""
        try:
            await self._messages.ask(session_id, {"k": "session", "s": session_id})
        except (RedisError, TimeoutError) as exc:
            # Committed with its live event: the owner reloads when that event
            # reaches it, read from the database within a second (_session_event).
            log.warning("session_change_unanswered", session_id=session_id, error=str(exc))

    async def readings_struck(self, session_id: int) -> None:
        """Have the owner rebuild its alarm state without the struck reading."""
        try:
            await self._messages.ask(session_id, {"k": "rebuild", "s": session_id})
        except (RedisError, TimeoutError) as exc:
            log.warning("rebuild_unanswered", session_id=session_id, error=str(exc))

    def _session_event(self, session_id: int) -> None:
        """A session's committed change reached this process's hub: route its devices
        afresh and, if this process evaluates the session, reload it. The reload is
        usually a repeat of the direct message (harmless: it is idempotent); it
        matters when that message was lost."""
        self._routes.forget_session(session_id)
        unit = self.partitions.get(session_id % self._count)
        if unit is not None and not unit.lost:
            self.background(unit.alarms.reload_session(session_id))

    async def alarm_action(
        self, alarm_id: int, action: str, seconds: int | None, actor: Actor
    ) -> AlarmOut:
        session_id = await alarm_session(self._maker, alarm_id)
        try:
            reply = await self._messages.ask(
                session_id,
                {
                    "k": "alarm",
                    "a": alarm_id,
                    "x": action,
                    "n": seconds or 0,
                    "u": orjson.dumps({"type": actor.type, "id": actor.id, "name": actor.name}),
                },
            )
        except (RedisError, TimeoutError):
            raise Unavailable("The alarm service did not answer in time; try again") from None
        if reply.get(b"o") == b"refused":
            refused = _REFUSALS.get(reply[b"e"].decode())
            if refused is not None:
                raise refused(int(reply[b"a"]))
        if reply.get(b"o") != b"ok":
            raise Unavailable("The alarm service is changing hands; try again")
        return AlarmOut.model_validate_json(reply[b"b"])

    def owns(self, session_id: int) -> bool:
        unit = self.partitions.get(session_id % self._count)
        return unit is not None and not unit.lost

    async def observe(self, session_id: int, kind: str, value: float, ts: datetime) -> None:
        """Best effort: the owner's records check re-sends the newest MOAA/S within
        seconds (records/watcher.py), so a lost message delays, never loses, it."""
        try:
            await self._messages.ask(
                session_id,
                {"k": "observe", "s": session_id, "x": kind, "v": value, "t": ts.timestamp()},
            )
        except (RedisError, TimeoutError) as exc:
            log.warning("observation_unanswered", session_id=session_id, error=type(exc).__name__)

    async def problem(self) -> str | None:
        """Not ready while this process could only time out: Redis does not answer,
        its leases went unrenewed for a lease lifetime, or it has stopped reading
        its partitions' requests or its own replies."""
        try:
            await asyncio.wait_for(self.redis.ping(), 2)
        except (RedisError, TimeoutError):
            return "redis unreachable"
        ttl = self._node.settings.lease_ttl_s
        if time.monotonic() - self._leases.renewed_at > ttl:
            return "partition leases not renewed"
        stalled = self._messages.stalled(max(5.0, ttl))
        if stalled:
            return stalled
        return None
