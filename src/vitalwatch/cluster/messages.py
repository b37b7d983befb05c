"""Routed work over the partition streams, both ends of it.

The requester adds an entry to `<prefix>:part:<p>` and waits on its own reply
stream; the owner of the partition reads the entry in its consumer group, runs
it on the partition (store + evaluate, a session reload, a staff action) and
only after the commit acknowledges it and answers. An entry not committed by
its reader stays pending for the next owner (leases.Leases claims it).

Each request carries its requester's deadline (`dl`, epoch ms). The owner
does not start work that could not be answered in time (the requester has
told its client to retry by then), and sends a committed entry's reply again
until the deadline when Redis fails it, then goes on acknowledging it: an
entry is never left pending once its work is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from redis.exceptions import RedisError, ResponseError

from vitalwatch.alarms.errors import AlarmNotFound, AlarmResolved
from vitalwatch.audit.service import Actor
from vitalwatch.cluster.commands import delivered_as
from vitalwatch.cluster.node import FOLLOW_BLOCK_MS, GROUP, Node
from vitalwatch.cluster.partition import Partition
from vitalwatch.cluster.service import run_action
from vitalwatch.logging import get_logger
from vitalwatch.metrics import CLUSTER_MESSAGES
from vitalwatch.readings.repeats import SampleConflict
from vitalwatch.readings.writer import DeviceNotBound, IngestUnavailable, OutOfScope
from vitalwatch.samples import SampleColumns
from vitalwatch.vitals import METRICS

log = get_logger(__name__)

_REPLY_MAXLEN = 10_000
#: Work is not started with less than this left before the requester's
#: deadline (a third of the request timeout at most): committed after it, the
#: requester would have answered 503.
START_MARGIN_S = 5.0
#: How long a committed entry's acknowledgement is retried past the deadline.
_ACK_FOR_S = 60.0


def _now_ms() -> int:
    return int(time.time() * 1000)


class Messages:
    def __init__(self, node: Node) -> None:
        self._node = node
        self._futures: dict[bytes, asyncio.Future[dict[bytes, bytes]]] = {}
        self._ids = itertools.count(1)
        self._reply_key = node.key("reply", node.name)
        #: When each reading loop last heard from Redis (monotonic; readiness).
        self._read_at = {"requests": time.monotonic(), "replies": time.monotonic()}

    def stalled(self, after_s: float) -> str | None:
        """Which reading loop has not had an answer from Redis for `after_s`."""
        now = time.monotonic()
        for loop, at in self._read_at.items():
            if now - at > after_s:
                return f"cluster {loop} not read for {now - at:.0f} s"
        return None

    # -- the owner's side ---------------------------------------------------------------

    async def consume(self) -> None:
        """Read the owned partitions' streams; each entry is handled in its own task."""
        node = self._node
        while True:
            streams: dict[Any, Any] = {node.key("part", p): ">" for p in node.partitions}
            if not streams:
                self._read_at["requests"] = time.monotonic()
                await asyncio.sleep(0.2)
                continue
            try:
                result = await node.redis.xreadgroup(
                    GROUP, node.name, streams, count=1000, block=200
                )
                self._read_at["requests"] = time.monotonic()
            except RedisError as exc:
                log.warning("cluster_read_failed", error=type(exc).__name__)
                if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                    with contextlib.suppress(RedisError):  # Redis restarted empty
                        await node.redis.set(node.key("partitions"), node.count, nx=True)
                        for p in list(node.partitions):
                            await node.ensure_group(p)
                await asyncio.sleep(0.5)
                continue
            for stream, entries in result or []:
                p = int(stream.rsplit(b":", 1)[1])
                unit = node.partitions.get(p)
                if unit is None:
                    continue  # released meanwhile: the next owner claims these entries
                for entry_id, fields in entries:
                    self.handle(unit, entry_id, fields)

    def handle(self, unit: Partition, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        task = asyncio.create_task(self._process(unit, entry_id, fields))
        tasks = self._node.inflight.setdefault(unit.index, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _process(self, unit: Partition, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        kind = fields.get(b"k", b"").decode()
        deadline_ms = int(fields.get(b"dl", b"0") or 0)
        margin_s = min(START_MARGIN_S, self._node.settings.cluster_request_timeout_s / 3)
        if deadline_ms and _now_ms() > deadline_ms - margin_s * 1000:
            # Its requester gives up before this could be answered: not started,
            # so the client's retry is the only copy that is stored.
            CLUSTER_MESSAGES.labels(kind, "expired").inc()
            await self._finish(unit.index, entry_id, fields, None, deadline_ms)
            return
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
        await self._finish(unit.index, entry_id, fields, reply, deadline_ms)

    async def _finish(
        self,
        partition: int,
        entry_id: bytes,
        fields: dict[bytes, bytes],
        reply: dict[str, Any] | None,
        deadline_ms: int,
    ) -> None:
        """Acknowledge the entry and answer its requester, again and again while
        Redis fails it: the reply until the requester's deadline, the
        acknowledgement for a while longer (pending, it would be done twice)."""
        stream = self._node.key("part", partition)
        give_up_ms = max(deadline_ms, _now_ms()) + int(_ACK_FOR_S * 1000)
        reply_until_ms = deadline_ms or give_up_ms
        pause = 0.05
        while True:
            answer = reply is not None and b"r" in fields and _now_ms() < reply_until_ms
            try:
                async with self._node.redis.pipeline(transaction=False) as pipe:
                    pipe.xack(stream, GROUP, entry_id)
                    pipe.xdel(stream, entry_id)
                    if answer and reply is not None:
                        reply_to = fields[b"r"].decode()
                        pipe.xadd(
                            reply_to,
                            {"i": fields[b"i"], **reply},
                            maxlen=_REPLY_MAXLEN,
                            approximate=True,
                        )
                        pipe.expire(reply_to, 120)
                    await pipe.execute()
                return
            except RedisError as exc:
                log.warning("cluster_reply_failed", error=type(exc).__name__)
                if _now_ms() > give_up_ms:
                    return  # still pending: claimed and done again (idempotently)
                await asyncio.sleep(pause)
                pause = min(1.0, pause * 2)

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
            except SampleConflict as exc:  # refused whole: the requester tells the device
                return {"o": "conflict", "c": exc.encode()}
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

    async def ask(self, session_id: int, fields: dict[str, Any]) -> dict[bytes, bytes]:
        """Send work to the owner of the session's partition and wait for its answer."""
        node = self._node
        request_id = str(next(self._ids)).encode()
        future: asyncio.Future[dict[bytes, bytes]] = asyncio.get_running_loop().create_future()
        self._futures[request_id] = future
        timeout = node.settings.cluster_request_timeout_s
        try:
            await node.redis.xadd(
                node.key("part", session_id % node.count),
                {
                    **fields,
                    "r": self._reply_key,
                    "i": request_id,
                    "dl": _now_ms() + int(timeout * 1000),
                },
            )
            return await asyncio.wait_for(future, timeout)
        finally:
            self._futures.pop(request_id, None)

    async def replies(self) -> None:
        last: bytes | str = "0-0"
        while True:
            try:
                result = await self._node.redis.xread(
                    {self._reply_key: last}, count=1000, block=FOLLOW_BLOCK_MS
                )
                self._read_at["replies"] = time.monotonic()
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

    def cancel_waiting(self) -> None:
        """Requests still waiting for an answer end now (at stop)."""
        for future in self._futures.values():
            if not future.done():
                future.cancel()
