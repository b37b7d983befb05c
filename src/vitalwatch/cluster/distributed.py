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
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from vitalwatch.alarms.errors import AlarmNotFound, AlarmResolved
from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.audit.service import Actor
from vitalwatch.cluster import repository
from vitalwatch.cluster.commands import StreamCommands, delivered_as
from vitalwatch.cluster.partition import Partition
from vitalwatch.cluster.routes import DeviceRoutes
from vitalwatch.cluster.service import alarm_session, run_action
from vitalwatch.config import Settings
from vitalwatch.errors import Unavailable
from vitalwatch.live.hub import Hub
from vitalwatch.logging import get_logger
from vitalwatch.metrics import CLUSTER_MESSAGES, PARTITIONS_OWNED
from vitalwatch.notify.outbox import Outbox
from vitalwatch.readings.latest import LatestStore, newest_values
from vitalwatch.readings.writer import DeviceNotBound, IngestResult, IngestUnavailable, OutOfScope
from vitalwatch.samples import SampleBatch, SampleColumns
from vitalwatch.tasks import cancel_and_wait
from vitalwatch.vitals import METRICS

log = get_logger(__name__)

GROUP = "evaluators"
#: Renews the lease only if this process still holds it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
#: Gives the lease back only if this process still holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_FOLLOW_BLOCK_MS = 1000
_LIVE_MAXLEN = 10_000
_VITALS_MAXLEN = 2_000
_REPLY_MAXLEN = 10_000
#: The refusals of a staff action that travel back to the requester, by name
#: (a domain error, not an HTTP status: the requester's edge answers it).
_REFUSALS: dict[str, type[AlarmNotFound | AlarmResolved]] = {
    "AlarmNotFound": AlarmNotFound,
    "AlarmResolved": AlarmResolved,
}


class _VitalsPublisher:
    """Ingest listener of every owned partition: the newest values to every process."""

    def __init__(self, cluster: RedisCluster) -> None:
        self._cluster = cluster

    async def before_commit(self, conn: AsyncConnection, batch: SampleBatch) -> None:
        return None

    async def after_commit(self, batch: SampleBatch) -> None:
        updates = newest_values(batch)
        if updates:
            self._cluster.background(
                self._cluster.redis.xadd(
                    self._cluster.key("vitals"),
                    {"u": orjson.dumps(updates)},
                    maxlen=_VITALS_MAXLEN,
                    approximate=True,
                )
            )

    async def after_rollback(self) -> None:
        return None


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
        self._notifications = notifications
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        #: Typed Any: redis-py types replies as unions of str and bytes; without
        #: decode_responses every reply here is bytes.
        #: A blocking pool: under a burst of requests a command waits for a free
        #: connection instead of failing (redis-py's default pool raises at 100).
        self.redis: Any = Redis(
            connection_pool=BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=settings.redis_max_connections,
                timeout=10,
                socket_connect_timeout=3,
                health_check_interval=15,
            )
        )
        self._settings = settings
        self._engine = engine
        self._maker = maker
        self._hub = hub
        self._latest = latest
        #: Where each device's samples are sent (the partition of its session).
        self._routes = DeviceRoutes(maker)
        #: Alarm commands read from the streams: one delivered again runs once.
        self._commands = StreamCommands()
        self._count = settings.partitions
        self._ttl_ms = int(settings.lease_ttl_s * 1000)
        self._renew = self.redis.register_script(_RENEW)
        self._release_script = self.redis.register_script(_RELEASE)
        self._vitals = _VitalsPublisher(self)
        #: Partitions whose lease this process holds (being started, or serving).
        self._held: set[int] = set()
        #: Partitions this process evaluates now: their stream entries are read.
        self.partitions: dict[int, Partition] = {}
        self._inflight: dict[int, set[asyncio.Task[None]]] = {}
        self._futures: dict[bytes, asyncio.Future[dict[bytes, bytes]]] = {}
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._releasing: set[int] = set()
        self._reply_key = self.key("reply", self.name)

    def key(self, *parts: object) -> str:
        return ":".join((self._settings.redis_prefix, *map(str, parts)))

    def background(self, coro: Awaitable[Any]) -> None:
        """Run fire-and-forget work, keeping a reference and logging failure."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("cluster_background_failed", error=type(task.exception()).__name__)

    # -- start and stop -----------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.redis.ping()
        except RedisError as exc:
            raise RuntimeError(f"Redis at VITALWATCH_REDIS_URL is not reachable: {exc}") from exc
        await self._agree_on_partitions()
        for p in range(self._count):
            await self._ensure_group(p)
        live_start = await self._last_id(self.key("live"))
        vitals_start = await self._last_id(self.key("vitals"))
        self._hub.attach(self._publish_live, self._session_event)
        await self._lease_round()
        self._tasks = [
            asyncio.create_task(self._leases(), name="cluster-leases"),
            asyncio.create_task(self._consume(), name="cluster-consume"),
            asyncio.create_task(self._replies(), name="cluster-replies"),
            asyncio.create_task(self._follow_live(live_start), name="cluster-live"),
            asyncio.create_task(self._follow_vitals(vitals_start), name="cluster-vitals"),
        ]
        log.info("cluster_joined", process=self.name, partitions=sorted(self.partitions))

    async def stop(self) -> None:
        """Give every partition back (others take them at once), then leave."""
        for task in self._tasks[:1]:
            await cancel_and_wait(task)
        for p in sorted(self._held):
            with contextlib.suppress(Exception):
                await self._release(p)
        for task in self._tasks[1:]:
            await cancel_and_wait(task)
        for future in self._futures.values():
            if not future.done():
                future.cancel()
        with contextlib.suppress(RedisError):
            await self.redis.zrem(self.key("members"), self.name)
            for p in range(self._count):
                await self.redis.xgroup_delconsumer(self.key("part", p), GROUP, self.name)
        if self._background:
            await asyncio.wait(self._background, timeout=2)
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()
        PARTITIONS_OWNED.set(0)

    async def _ensure_group(self, p: int) -> None:
        """The partition's stream and consumer group: made at start, and again when
        Redis came back empty after a restart (XREADGROUP then answers NOGROUP)."""
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self.redis.xgroup_create(self.key("part", p), GROUP, id="0", mkstream=True)

    async def _agree_on_partitions(self) -> None:
        """Refuse to start with a partition count other processes do not use:
        the same session would be routed to two different owners."""
        key = self.key("partitions")
        await self.redis.set(key, self._count, nx=True)
        agreed = int(await self.redis.get(key))
        if agreed != self._count:
            raise RuntimeError(
                f"VITALWATCH_PARTITIONS={self._count}, but the processes already running "
                f"under prefix {self._settings.redis_prefix!r} use {agreed}; use the same "
                "value everywhere (to change it, stop every process and delete "
                f"the Redis key {key!r})"
            )

    async def _last_id(self, key: str) -> bytes:
        newest = await self.redis.xrevrange(key, count=1)
        return bytes(newest[0][0]) if newest else b"0-0"

    # -- leases -------------------------------------------------------------------------

    async def _leases(self) -> None:
        every = min(1.0, self._ttl_ms / 3000)  # three renewals per lease lifetime
        while True:
            await asyncio.sleep(every)
            try:
                await self._lease_round()
            except Exception:
                log.exception("lease_round_failed")

    async def _lease_round(self) -> None:
        """Stay a member, renew what is held, and move toward an even share."""
        now_ms = int(time.time() * 1000)
        members = self.key("members")
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(members, {self.name: now_ms + self._ttl_ms})
            pipe.zremrangebyscore(members, "-inf", now_ms)
            pipe.zcard(members)
            *_, alive = await pipe.execute()
        for p in sorted(self._held):
            if not await self._renew(keys=[self.key("lease", p)], args=[self.name, self._ttl_ms]):
                log.warning("partition_lease_lost", partition=p)
                self.background(self._abandon(p))
        share = math.ceil(self._count / max(1, int(alive)))
        keeping = len(self._held) - len(self._releasing)
        if keeping > share:
            extra = sorted(set(self.partitions) - self._releasing, reverse=True)[: keeping - share]
            for p in extra:
                self._releasing.add(p)
                self.background(self._release(p))
            return
        start = int.from_bytes(self.name.encode()[-3:], "big") % self._count
        for k in range(self._count):
            if len(self._held) >= share:
                break
            p = (start + k) % self._count
            if p in self._held:
                continue
            if await self.redis.set(self.key("lease", p), self.name, nx=True, px=self._ttl_ms):
                self._held.add(p)
                self.background(self._gain(p))

    async def _gain(self, p: int) -> None:
        """Fence out the previous owner, rebuild the alarm state, take its unfinished work."""
        try:
            async with self._engine.begin() as conn:
                epoch = await repository.claim(conn, p, self.name)
            unit = Partition(
                p,
                self._count,
                self._settings,
                self._engine,
                self._maker,
                self._hub,
                self._vitals,
                epoch=epoch,
                notifications=self._notifications,
                commands=self._commands,
            )
            await unit.start()
        except Exception:
            log.exception("partition_start_failed", partition=p)
            self._held.discard(p)
            with contextlib.suppress(RedisError):
                await self._release_script(keys=[self.key("lease", p)], args=[self.name])
            return
        if p not in self._held:  # lost again while rebuilding
            await unit.stop()
            return
        stream = self.key("part", p)
        await self._ensure_group(p)
        cursor: bytes | str = "0-0"
        while True:  # entries the previous owner read but did not finish
            cursor, entries, *_ = await self.redis.xautoclaim(
                stream, GROUP, self.name, min_idle_time=0, start_id=cursor, count=1000
            )
            for entry_id, fields in entries:
                if fields:
                    self._handle(unit, entry_id, fields)
            if cursor in (b"0-0", "0-0"):
                break
        self.partitions[p] = unit
        PARTITIONS_OWNED.set(len(self.partitions))
        log.info("partition_gained", partition=p, epoch=epoch)
        await self._forget_departed(stream)

    async def _forget_departed(self, stream: str) -> None:
        """Remove consumers of processes that are gone and left nothing pending."""
        alive = {m.decode() for m in await self.redis.zrange(self.key("members"), 0, -1)}
        for consumer in await self.redis.xinfo_consumers(stream, GROUP):
            name = consumer["name"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            if name not in alive and name != self.name and int(consumer["pending"]) == 0:
                await self.redis.xgroup_delconsumer(stream, GROUP, name)

    async def _drain(self, p: int) -> Partition | None:
        """Stop reading the partition and let its started work finish."""
        unit = self.partitions.pop(p, None)
        PARTITIONS_OWNED.set(len(self.partitions))
        inflight = self._inflight.pop(p, set())
        if inflight:
            await asyncio.wait(inflight, timeout=30)
        return unit

    async def _release(self, p: int) -> None:
        """Hand a partition over gracefully (rebalancing or shutdown)."""
        try:
            unit = await self._drain(p)
            if unit is not None:
                await unit.stop()
            self._held.discard(p)
            await self._release_script(keys=[self.key("lease", p)], args=[self.name])
            log.info("partition_released", partition=p)
        finally:
            self._releasing.discard(p)

    async def _abandon(self, p: int) -> None:
        """The lease expired under us: another process may own it already."""
        self._held.discard(p)
        unit = self.partitions.get(p)
        if unit is not None:
            unit.lost = True  # its next transaction is refused; unfinished entries stay pending
            await self._drain(p)
            with contextlib.suppress(Exception):
                await unit.stop()

    # -- the owner's side ---------------------------------------------------------------

    async def _consume(self) -> None:
        """Read the owned partitions' streams; each entry is handled in its own task."""
        while True:
            streams: dict[Any, Any] = {self.key("part", p): ">" for p in self.partitions}
            if not streams:
                await asyncio.sleep(0.2)
                continue
            try:
                result = await self.redis.xreadgroup(
                    GROUP, self.name, streams, count=1000, block=200
                )
            except RedisError as exc:
                log.warning("cluster_read_failed", error=type(exc).__name__)
                if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                    with contextlib.suppress(RedisError):  # Redis restarted empty
                        await self.redis.set(self.key("partitions"), self._count, nx=True)
                        for p in list(self.partitions):
                            await self._ensure_group(p)
                await asyncio.sleep(0.5)
                continue
            for stream, entries in result or []:
                p = int(stream.rsplit(b":", 1)[1])
                unit = self.partitions.get(p)
                if unit is None:
                    continue  # released meanwhile: the next owner claims these entries
                for entry_id, fields in entries:
                    self._handle(unit, entry_id, fields)

    def _handle(self, unit: Partition, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        task = asyncio.create_task(self._process(unit, entry_id, fields))
        tasks = self._inflight.setdefault(unit.index, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _process(self, unit: Partition, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        kind = fields.get(b"k", b"").decode()
        try:
            reply = await self._execute(unit, kind, fields)
        except Exception:
            if not unit.lost:
                log.exception("cluster_message_failed", kind=kind, partition=unit.index)
            reply = {"o": "unavailable"}
        if unit.lost and reply["o"] == "unavailable":
            # Not committed by us: the next owner claims the entry, does it and answers.
            CLUSTER_MESSAGES.labels(kind, "left_to_next_owner").inc()
            return
        CLUSTER_MESSAGES.labels(kind, str(reply["o"])).inc()
        stream = self.key("part", unit.index)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xack(stream, GROUP, entry_id)
                pipe.xdel(stream, entry_id)
                if b"r" in fields:
                    reply_to = fields[b"r"].decode()
                    pipe.xadd(
                        reply_to,
                        {"i": fields[b"i"], **reply},
                        maxlen=_REPLY_MAXLEN,
                        approximate=True,
                    )
                    pipe.expire(reply_to, 120)
                await pipe.execute()
        except RedisError as exc:  # the requester times out and the device retries
            log.warning("cluster_reply_failed", error=type(exc).__name__)

    async def _execute(
        self, unit: Partition, kind: str, fields: dict[bytes, bytes]
    ) -> dict[str, Any]:
        if kind == "ingest":
            columns = SampleColumns(
                seq=np.frombuffer(fields[b"q"], dtype=np.int64),
                ts_ms=np.frombuffer(fields[b"t"], dtype=np.int64),
                values=np.frombuffer(fields[b"v"], dtype=np.float64).reshape(-1, len(METRICS)),
            )
            try:
                result = await unit.writer.submit(int(fields[b"d"]), columns)
            except DeviceNotBound:
                return {"o": "not_bound"}
            except OutOfScope:  # the device's session is another partition's now
                return {"o": "misrouted"}
            except IngestUnavailable:
                return {"o": "unavailable"}
            return {"o": "ok", "a": result.accepted, "u": result.duplicates}
        if kind == "session":
            await unit.alarms.reload_session(int(fields[b"s"]))
            return {"o": "ok"}
        if kind == "observe":
            at = datetime.fromtimestamp(float(fields[b"t"]), tz=UTC)
            await unit.alarms.observe(
                int(fields[b"s"]), fields[b"x"].decode(), float(fields[b"v"]), at
            )
            return {"o": "ok"}
        if kind == "rebuild":
            await unit.alarms.rebuild()
            return {"o": "ok"}
        if kind == "alarm":
            actor = Actor(**orjson.loads(fields[b"u"]))
            seconds = int(fields[b"n"]) or None
            try:
                with delivered_as(f"{fields[b'r'].decode()}#{fields[b'i'].decode()}"):
                    out = await run_action(
                        unit, int(fields[b"a"]), fields[b"x"].decode(), seconds, actor
                    )
            except (AlarmNotFound, AlarmResolved) as exc:
                return {"o": "refused", "e": type(exc).__name__, "a": fields[b"a"]}
            return {"o": "ok", "b": out.model_dump_json()}
        log.warning("cluster_message_unknown", kind=kind)
        return {"o": "unknown"}

    # -- the requester's side -----------------------------------------------------------

    async def _ask(self, session_id: int, fields: dict[str, Any]) -> dict[bytes, bytes]:
        """Send work to the owner of the session's partition and wait for its answer."""
        request_id = str(next(self._ids)).encode()
        future: asyncio.Future[dict[bytes, bytes]] = asyncio.get_running_loop().create_future()
        self._futures[request_id] = future
        try:
            await self.redis.xadd(
                self.key("part", session_id % self._count),
                {**fields, "r": self._reply_key, "i": request_id},
            )
            return await asyncio.wait_for(future, self._settings.cluster_request_timeout_s)
        finally:
            self._futures.pop(request_id, None)

    async def _replies(self) -> None:
        last: bytes | str = "0-0"
        while True:
            try:
                result = await self.redis.xread(
                    {self._reply_key: last}, count=1000, block=_FOLLOW_BLOCK_MS
                )
            except RedisError as exc:
                log.warning("cluster_replies_failed", error=type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            for _, entries in result or []:
                for entry_id, fields in entries:
                    last = entry_id
                    future = self._futures.get(fields.get(b"i", b""))
                    if future is not None and not future.done():
                        future.set_result(fields)

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
                reply = await self._ask(
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
                raise IngestUnavailable() from None
            outcome = reply.get(b"o")
            if outcome == b"ok":
                return IngestResult(int(reply[b"a"]), int(reply[b"u"]))
            if outcome == b"not_bound" and fresh:
                raise DeviceNotBound()
            if outcome not in (b"not_bound", b"misrouted"):
                raise IngestUnavailable()
            fresh = True  # the binding changed since it was cached: route again
        raise IngestUnavailable()

    async def session_changed(self, session_id: int) -> None:
        """Have the owner reload the session before the staff request returns."""
        try:
            await self._ask(session_id, {"k": "session", "s": session_id})
        except (RedisError, TimeoutError) as exc:
            # Committed with its live event: the owner reloads when that event
            # reaches it, read from the database within a second (_session_event).
            log.warning("session_change_unanswered", session_id=session_id, error=str(exc))

    async def readings_struck(self, session_id: int) -> None:
        """Have the owner rebuild its alarm state without the struck reading."""
        try:
            await self._ask(session_id, {"k": "rebuild", "s": session_id})
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
            reply = await self._ask(
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
            await self._ask(
                session_id,
                {"k": "observe", "s": session_id, "x": kind, "v": value, "t": ts.timestamp()},
            )
        except (RedisError, TimeoutError) as exc:
            log.warning("observation_unanswered", session_id=session_id, error=type(exc).__name__)

    async def problem(self) -> str | None:
        try:
            await self.redis.ping()
        except RedisError:
            return "redis unreachable"
        return None

    # -- events and vitals from every process -------------------------------------------

    def _publish_live(self, event_id: int, type_: str, payload: dict[str, Any]) -> None:
        self._hub.offer(event_id, type_, payload)  # this process's dashboards at once
        self.background(
            self.redis.xadd(
                self.key("live"),
                {"i": event_id, "t": type_, "p": orjson.dumps(payload)},
                maxlen=_LIVE_MAXLEN,
                approximate=True,
            )
        )

    async def _follow(
        self, key: str, last: bytes
    ) -> AsyncIterator[list[tuple[bytes, dict[bytes, bytes]]]]:
        """Entries of a stream every process reads, from `last` on (yields batches)."""
        while True:
            try:
                result = await self.redis.xread({key: last}, count=1000, block=_FOLLOW_BLOCK_MS)
            except RedisError as exc:
                log.warning("cluster_follow_failed", stream=key, error=type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            for _, entries in result or []:
                last = entries[-1][0]
                yield entries

    async def _follow_live(self, last: bytes) -> None:
        async for entries in self._follow(self.key("live"), last):
            for _, fields in entries:
                self._hub.offer(
                    int(fields[b"i"]), fields[b"t"].decode(), orjson.loads(fields[b"p"])
                )

    async def _follow_vitals(self, last: bytes) -> None:
        async for entries in self._follow(self.key("vitals"), last):
            for _, fields in entries:
                self._latest.apply(orjson.loads(fields[b"u"]))
