"""Live events and the newest vitals, from the process that committed them to
every process.

Committed live events are appended to `<prefix>:live` and every process
delivers them to its hub in id order (the hub reads gaps from the database);
the newest values of each committed batch go to `<prefix>:vitals` and into
every process's latest store. Neither stream needs to be durable: the
database is the record.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection

from vitalwatch.cluster.node import FOLLOW_BLOCK_MS, Node
from vitalwatch.live.hub import Hub
from vitalwatch.logging import get_logger
from vitalwatch.readings.latest import LatestStore, newest_values
from vitalwatch.samples import SampleBatch

log = get_logger(__name__)

_LIVE_MAXLEN = 10_000
_VITALS_MAXLEN = 2_000


class _VitalsPublisher:
    """Ingest listener of every owned partition: the newest values to every process."""

    def __init__(self, node: Node) -> None:
        self._node = node

    async def before_commit(self, conn: AsyncConnection, batch: SampleBatch) -> None:
        return None

    async def after_commit(self, batch: SampleBatch) -> None:
        updates = newest_values(batch)
        if updates:
            self._node.background(
                self._node.redis.xadd(
                    self._node.key("vitals"),
                    {"u": orjson.dumps(updates)},
                    maxlen=_VITALS_MAXLEN,
                    approximate=True,
                )
            )

    async def after_rollback(self) -> None:
        return None


class Fanout:
    def __init__(self, node: Node, hub: Hub, latest: LatestStore) -> None:
        self._node = node
        self._hub = hub
        self._latest = latest
        #: The ingest listener each partition this process gains is given.
        self.vitals = _VitalsPublisher(node)

    async def last_id(self, key: str) -> bytes:
        newest = await self._node.redis.xrevrange(key, count=1)
        return bytes(newest[0][0]) if newest else b"0-0"

    def publish_live(self, event_id: int, type_: str, payload: dict[str, Any]) -> None:
        self._hub.offer(event_id, type_, payload)  # this process's dashboards at once
        self._node.background(
            self._node.redis.xadd(
                self._node.key("live"),
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
                result = await self._node.redis.xread(
                    {key: last}, count=1000, block=FOLLOW_BLOCK_MS
                )
            except RedisError as exc:
                log.warning("cluster_follow_failed", stream=key, error=type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            for _, entries in result or []:
                last = entries[-1][0]
                yield entries

    async def follow_live(self, last: bytes) -> None:
        async for entries in self._follow(self._node.key("live"), last):
            for _, fields in entries:
                self._hub.offer(
                    int(fields[b"i"]), fields[b"t"].decode(), orjson.loads(fields[b"p"])
                )

    async def follow_vitals(self, last: bytes) -> None:
        async for entries in self._follow(self._node.key("vitals"), last):
            for _, fields in entries:
                self._latest.apply(orjson.loads(fields[b"u"]))
