"""This process as the other parts of `RedisCluster` see it: its name, its
Redis client and keys, the partitions it evaluates, and its background work.

One object the lease loop, the partition streams and the fan-out all hold, so
the state they share (which partitions are served, the work started on each)
has one owner and none of them imports another (cluster/distributed.py
composes them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import ResponseError

from vitalwatch.cluster.partition import Partition
from vitalwatch.config import Settings
from vitalwatch.logging import get_logger

log = get_logger(__name__)

GROUP = "evaluators"
FOLLOW_BLOCK_MS = 1000


@dataclass(eq=False)
class Node:
    #: This process among the others (`host:pid:random`).
    name: str
    #: Typed Any: redis-py types replies as unions of str and bytes; without
    #: decode_responses every reply here is bytes.
    redis: Any
    settings: Settings
    #: Partitions every process agrees on (`session_id % count`).
    count: int
    #: Partitions this process evaluates now: their stream entries are read.
    partitions: dict[int, Partition] = field(default_factory=dict)
    #: The entries being processed, per partition (waited for when it is handed over).
    inflight: dict[int, set[asyncio.Task[None]]] = field(default_factory=dict)
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    def key(self, *parts: object) -> str:
        return ":".join((self.settings.redis_prefix, *map(str, parts)))

    def background(self, coro: Awaitable[Any]) -> None:
        """Run fire-and-forget work, keeping a reference and logging failure."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("cluster_background_failed", error=type(task.exception()).__name__)

    def pending(self) -> set[asyncio.Task[Any]]:
        """The fire-and-forget work still running (waited for at stop)."""
        return self._background

    async def ensure_group(self, p: int) -> None:
        """The partition's stream and consumer group: made at start, and again when
        Redis came back empty after a restart (XREADGROUP then answers NOGROUP)."""
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self.redis.xgroup_create(self.key("part", p), GROUP, id="0", mkstream=True)
