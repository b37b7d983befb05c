"""Which partitions this process evaluates: the lease loop.

Every process stays a member (`<prefix>:members`), renews the leases it holds
(`<prefix>:lease:<p>`) and moves toward an even share: it gives extra
partitions back and takes free ones. Taking one fences out the previous owner
(the partition's epoch in the database), rebuilds its alarm state and claims
the entries the previous owner read but did not finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vitalwatch.cluster import repository
from vitalwatch.cluster.commands import StreamCommands
from vitalwatch.cluster.node import GROUP, Node
from vitalwatch.cluster.partition import Partition
from vitalwatch.live.hub import Hub
from vitalwatch.logging import get_logger
from vitalwatch.metrics import PARTITIONS_OWNED
from vitalwatch.notify.outbox import Outbox
from vitalwatch.readings.writer import IngestListener

log = get_logger(__name__)

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

#: Runs one stream entry of a partition in its own task (messages.Messages.handle).
Handler = Callable[[Partition, bytes, dict[bytes, bytes]], None]


class Leases:
    def __init__(
        self,
        node: Node,
        engine: AsyncEngine,
        maker: async_sessionmaker[AsyncSession],
        hub: Hub,
        vitals: IngestListener,
        handle: Handler,
        notifications: Outbox | None,
        commands: StreamCommands,
    ) -> None:
        self._node = node
        self._engine = engine
        self._maker = maker
        self._hub = hub
        self._vitals = vitals
        self._handle = handle
        self._notifications = notifications
        self._commands = commands
        self._ttl_ms = int(node.settings.lease_ttl_s * 1000)
        self._renew = node.redis.register_script(_RENEW)
        self._release_script = node.redis.register_script(_RELEASE)
        #: Partitions whose lease this process holds (being started, or serving).
        self.held: set[int] = set()
        self._releasing: set[int] = set()
        #: When the leases held were last renewed (monotonic; readiness reads it).
        self.renewed_at = time.monotonic()
        self._alive = 1

    async def agree_on_partitions(self) -> None:
        """Refuse to start with a partition count other processes do not use:
        the same session would be routed to two different owners."""
        node = self._node
        key = node.key("partitions")
        await node.redis.set(key, node.count, nx=True)
        agreed = int(await node.redis.get(key))
        if agreed != node.count:
            raise RuntimeError(
                f"VITALWATCH_PARTITIONS={node.count}, but the processes already running "
                f"under prefix {node.settings.redis_prefix!r} use {agreed}; use the same "
                "value everywhere (to change it, stop every process and delete "
                f"the Redis key {key!r})"
            )

    async def run(self) -> None:
        """Renewal and balancing as two tasks: a renewal never waits behind a
        round of taking partitions (whose Redis calls may be slow under load)."""
        every = min(1.0, self._ttl_ms / 3000)  # three renewals per lease lifetime
        await asyncio.gather(self._every(every, self.renew), self._every(every, self.balance))

    async def _every(self, seconds: float, step: Callable[[], Awaitable[object]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await step()
            except Exception:
                log.exception("lease_round_failed", step=getattr(step, "__name__", "?"))

    async def round(self) -> None:
        """Stay a member, renew what is held, and move toward an even share."""
        await self.renew()
        await self.balance()

    async def renew(self) -> int:
        """Stay a member and renew the leases held; how many processes are members."""
        node = self._node
        now_ms = int(time.time() * 1000)
        members = node.key("members")
        held = sorted(self.held)
        async with node.redis.pipeline(transaction=False) as pipe:  # one round trip
            pipe.zadd(members, {node.name: now_ms + self._ttl_ms})
            pipe.zremrangebyscore(members, "-inf", now_ms)
            pipe.zcard(members)
            for p in held:
                await self._renew(
                    keys=[node.key("lease", p)], args=[node.name, self._ttl_ms], client=pipe
                )
            _, _, alive, *renewed = await pipe.execute()
        for p, ok in zip(held, renewed, strict=True):
            if not ok and p in self.held:
                log.warning("partition_lease_lost", partition=p)
                node.background(self._abandon(p))
        self.renewed_at = time.monotonic()
        self._alive = int(alive)
        return self._alive

    async def balance(self) -> None:
        """Give extra partitions back and take free ones, toward an even share."""
        node = self._node
        alive = self._alive
        share = math.ceil(node.count / max(1, int(alive)))
        keeping = len(self.held) - len(self._releasing)
        if keeping > share:
            extra = sorted(set(node.partitions) - self._releasing, reverse=True)[: keeping - share]
            for p in extra:
                self._releasing.add(p)
                node.background(self.release(p))
            return
        start = int.from_bytes(node.name.encode()[-3:], "big") % node.count
        for k in range(node.count):
            if len(self.held) >= share:
                break
            p = (start + k) % node.count
            if p in self.held:
                continue
            if await node.redis.set(node.key("lease", p), node.name, nx=True, px=self._ttl_ms):
                self.held.add(p)
                node.background(self._gain(p))

    async def _gain(self, p: int) -> None:
        """Fence out the previous owner, rebuild the alarm state, take its unfinished work."""
        node = self._node
        try:
            async with self._engine.begin() as conn:
                epoch = await repository.claim(conn, p, node.name)
            unit = Partition(
                p,
                node.count,
                node.settings,
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
            self.held.discard(p)
            with contextlib.suppress(RedisError):
                await self._release_script(keys=[node.key("lease", p)], args=[node.name])
            return
        if p not in self.held:  # lost again while rebuilding
            await unit.stop()
            return
        stream = node.key("part", p)
        await node.ensure_group(p)
        cursor: bytes | str = "0-0"
        while True:  # entries the previous owner read but did not finish
            cursor, entries, *_ = await node.redis.xautoclaim(
                stream, GROUP, node.name, min_idle_time=0, start_id=cursor, count=1000
            )
            for entry_id, fields in entries:
                if fields:
                    self._handle(unit, entry_id, fields)
            if cursor in (b"0-0", "0-0"):
                break
        node.partitions[p] = unit
        PARTITIONS_OWNED.set(len(node.partitions))
        log.info("partition_gained", partition=p, epoch=epoch)
        await self._forget_departed(stream)

    async def _forget_departed(self, stream: str) -> None:
        """Remove consumers of processes that are gone and left nothing pending."""
        node = self._node
        alive = {m.decode() for m in await node.redis.zrange(node.key("members"), 0, -1)}
        for consumer in await node.redis.xinfo_consumers(stream, GROUP):
            name = consumer["name"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            if name not in alive and name != node.name and int(consumer["pending"]) == 0:
                await node.redis.xgroup_delconsumer(stream, GROUP, name)

    async def _drain(self, p: int) -> Partition | None:
        """Stop reading the partition and let its started work finish."""
        node = self._node
        unit = node.partitions.pop(p, None)
        PARTITIONS_OWNED.set(len(node.partitions))
        inflight = node.inflight.pop(p, set())
        if inflight:
            await asyncio.wait(inflight, timeout=30)
        return unit

    async def release(self, p: int) -> None:
        """Hand a partition over gracefully (rebalancing or shutdown)."""
        try:
            unit = await self._drain(p)
            if unit is not None:
                await unit.stop()
            self.held.discard(p)
            await self._release_script(keys=[self._node.key("lease", p)], args=[self._node.name])
            log.info("partition_released", partition=p)
        finally:
            self._releasing.discard(p)

    async def _abandon(self, p: int) -> None:
        """The lease expired under us: another process may own it already."""
        self.held.discard(p)
        unit = self._node.partitions.get(p)
        if unit is not None:
            unit.lost = True  # its next transaction is refused; unfinished entries stay pending
            await self._drain(p)
            with contextlib.suppress(Exception):
                await unit.stop()
