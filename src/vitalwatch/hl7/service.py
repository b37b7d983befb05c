"""HL7 ingest: a message in, its ACK out, with the guarantees of the JSON route.

ORU^R01 readings take the path of `POST /api/v1/readings` (`cluster.submit`:
the partition's group-commit writer, where they are stored and evaluated in
one transaction), so `AA` means what a `202` means, in both modes. ORU^R40
alarm reports are stored, put on the session's timeline and published to
every dashboard as the monitor's own alarms; they never reach the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.config import Settings
from vitalwatch.db import unit_of_work, utcnow
from vitalwatch.devices import repository as devices_repo
from vitalwatch.devices.service import DeviceDirectory
from vitalwatch.devices.zones import BadZone, zone
from vitalwatch.hl7 import ack, batch, extract, remeasure, repository
from vitalwatch.hl7.mapping import Mapping, load
from vitalwatch.hl7.monitor import Hl7Device, MonitorReports
from vitalwatch.hl7.parser import Message, NotHL7, Separators, decode, parse_text
from vitalwatch.hl7.unmapped import UnmappedRows
from vitalwatch.logging import get_logger
from vitalwatch.metrics import HL7_MESSAGES, INGEST_SAMPLES
from vitalwatch.readings.ports import SampleSink
from vitalwatch.readings.repeats import SampleConflict
from vitalwatch.readings.writer import DeviceNotBound, IngestUnavailable
from vitalwatch.sessions.ports import LiveEvents
from vitalwatch.tasks import cancel_and_wait, every

log = get_logger(__name__)

_HANDLED = ("ORU^R01", "ORU^R40")
_POSITIVE_TTL_S = 30.0
_NEGATIVE_TTL_S = 3.0
_FLUSH_S = 2.0
#: A better source of a metric (ECG HR) seen within this long keeps a worse one out.
_SOURCE_MEMORY_S = 30.0
_SAMPLE_ROWS = 30


class Reply:
    """A prepared message: `ordered` ones run one after another per connection,
    a `barrier` after every message received before it."""

    def __init__(
        self,
        ordered: bool,
        run: Callable[[], Coroutine[Any, Any, bytes | None]],
        barrier: bool = False,
    ) -> None:
        self.ordered = ordered
        self.run = run
        self.barrier = barrier


class Hl7Ingest:
    def __init__(
        self,
        settings: Settings,
        maker: async_sessionmaker[AsyncSession],
        devices: DeviceDirectory,
        cluster: SampleSink,
        hub: LiveEvents,
        mapping: Mapping | None = None,
    ) -> None:
        self._settings = settings
        self._maker = maker
        self._remeasured = remeasure.Remeasurements()
        self._devices = devices
        self._cluster = cluster
        self._hub = hub
        self.mapping = mapping or load()
        self._default_tz = zone(settings.mllp_timezone)
        self._cache: dict[str, tuple[Hl7Device | None, float]] = {}
        self._resolving: dict[str, asyncio.Future[Hl7Device | None]] = {}
        self._ranks: dict[int, dict[str, tuple[int, float]]] = {}
        self._senders: dict[str, dict[str, Any]] = {}
        self._unmapped = UnmappedRows()
        #: one flush at a time: a page's flush must not find the dicts already
        #: taken by the periodic flush and read before that one has committed
        self._flushing = asyncio.Lock()
        self._monitor = MonitorReports(maker, hub, devices, self.mapping)
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(
            every(_FLUSH_S, self.flush, log, "hl7_flush_failed"), name="hl7-flush"
        )

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        with contextlib.suppress(Exception):
            await self.flush()

    async def flush(self) -> None:
        """Unassigned senders and unmapped rows seen since the last flush (stored
        when this returns, whichever flush took them)."""
        async with self._flushing:
            senders, self._senders = self._senders, {}
            unmapped = self._unmapped.take()
            if not senders and not unmapped:
                return
            async with unit_of_work(self._maker) as db:
                registered = await devices_repo.owners(db, list(senders))  # meanwhile
                for key, s in senders.items():
                    if key not in registered:
                        await repository.note_sender(db, key=key, **s)
                await repository.add_unmapped(db, unmapped)

    def forget_identities(self) -> None:
        """Identifiers changed (an admin registered or edited a device)."""
        self._cache.clear()
        self._senders.clear()

    # -- one message --------------------------------------------------------------------

    def prepare(self, payload: bytes, peer: str) -> Reply:
        """Parse now (cheap, in arrival order); store when run."""
        text = decode(payload)
        try:
            found = batch.split(text)
        except Exception:  # never a crash of the listener, whatever the bytes
            log.exception("hl7_batch_split_failed")
            found = None
        if found is not None:
            return self._prepare_batch(found, peer)
        message = self._parse(functools.partial(parse_text, text))
        if isinstance(message, bytes):
            reply = message
            return Reply(False, lambda: _done(reply))
        return Reply(
            message.message_type == "ORU^R40",
            lambda: self._guarded(message, peer),
            extract.takes_back(message),
        )

    def _parse(self, read: Callable[[], Message]) -> Message | bytes:
        """The message, or the AR of bytes that are not one."""
        try:
            return read()
        except NotHL7 as exc:
            HL7_MESSAGES.labels("unreadable", "AR").inc()
            return ack.build(None, "AR", f"{exc}; nothing stored", ack.SEGMENT)
        except Exception:  # never a crash of the listener, whatever the bytes
            log.exception("hl7_parse_failed")
            HL7_MESSAGES.labels("unreadable", "AR").inc()
            return ack.build(None, "AR", "unreadable message; nothing stored", ack.SEGMENT)

    def _prepare_batch(self, found: batch.Batch, peer: str) -> Reply:
        """Each message of a batch on its own (identified by its own identifiers,
        never by the gateway's address); one ACK batch when all are answered."""
        groups: list[tuple[list[str] | None, list[Message | bytes]]] = [
            (g.header, [self._parse(functools.partial(parse_text, text)) for text in g.messages])
            for g in found.groups
        ]
        parsed = [m for _, ms in groups for m in ms if isinstance(m, Message)]
        seps = parsed[0].separators if parsed else Separators()

        async def run() -> bytes | None:
            def handle(m: Message) -> Coroutine[Any, Any, bytes | None]:
                return self._guarded(m, peer, by_address=False)

            return await batch.answer(found.file_header, groups, handle, seps)

        return Reply(
            any(m.message_type == "ORU^R40" for m in parsed),
            run,
            any(extract.takes_back(m) for m in parsed),
        )

    async def _guarded(self, message: Message, peer: str, by_address: bool = True) -> bytes | None:
        try:
            reply, code = await self._handle(message, peer, by_address)
        except Exception:
            log.exception("hl7_message_failed", message_type=message.message_type)
            return None  # no ACK: the sender resends; nothing was acknowledged
        HL7_MESSAGES.labels(message.message_type or "unknown", code).inc()
        return reply

    async def _handle(
        self, message: Message, peer: str, by_address: bool
    ) -> tuple[bytes | None, str]:
        """`by_address`: the sender's address may name the device (not in a batch:
        there it is a gateway's, not one bed's)."""
        kind = message.message_type
        if kind not in _HANDLED:
            base = kind.split("^", 1)[0]
            error = ack.UNSUPPORTED_EVENT if base == "ORU" else ack.UNSUPPORTED_TYPE
            text = (
                f"message type {kind or '(none)'} is not handled: "
                "VitalWatch takes ORU^R01 and ORU^R40"
            )
            return ack.build(message, "AR", text, error), "AR"
        version = message.version
        if version and not (version.startswith("2.") and version[:3] >= "2.3"):
            text = f"HL7 version {version} is not handled: VitalWatch takes 2.3 to 2.8"
            return ack.build(message, "AR", text, ack.UNSUPPORTED_VERSION), "AR"
        device = await self._identify(message, peer if by_address else None)
        if device is None:
            self._note_sender(message, peer)
            key = message.identifiers[0][1] if message.identifiers else "(no identifier)"
            text = (
                f"unknown sender {key}: no device has this HL7 identifier; an admin registers "
                "it from the unassigned monitors list; nothing stored"
            )
            return ack.build(message, "AE", text, ack.UNKNOWN_KEY), "AE"
        if kind == "ORU^R40":
            return await self._monitor.alarms(message, device)
        return await self._readings(message, device)

    async def _readings(self, message: Message, device: Hl7Device) -> tuple[bytes | None, str]:
        now_ms = int(time.time() * 1000)
        recent = self._recent_ranks(device.id)
        got = extract.readings(
            message,
            self.mapping,
            device.tz,
            now_ms,
            int(self._settings.max_future_skew_s * 1000),
            recent,
        )
        self._unmapped.note(got.skipped)
        if got.problems:
            text = "; ".join(got.problems[:5]) + "; nothing of this message was stored"
            return ack.build(message, "AE", text, ack.DATA_TYPE), "AE"
        if got.columns is None and not got.retracted:
            self._devices.seen(device.id, utcnow())
            return ack.build(message, "AA", _nothing_stored(got.skipped)), "AA"
        if got.columns is not None:
            try:
                if self._remeasured.may_repeat(device.id, got.columns):
                    async with unit_of_work(self._maker) as db:
                        await self._remeasured.check(db, device.id, got.columns, got.retracted)
                result = await self._cluster.submit(device.id, got.columns)
            except DeviceNotBound:
                return ack.build(message, "AE", _not_bound(device), ack.INTERNAL), "AE"
            except IngestUnavailable:
                log.warning("hl7_not_stored_database", device_id=device.id)
                return None, "none"  # no ACK: the monitor resends, the resend is stored once
            except SampleConflict as exc:
                # a re-measurement (hl7/remeasure.py), or the control id of a stored
                # message resent with other values (the writer's check): refused with
                # AE (never acknowledged as stored, never resent for ever)
                return ack.build(message, "AE", remeasure.worded(exc), ack.DATA_TYPE), "AE"
            self._remeasured.stored(device.id, got.columns)
            INGEST_SAMPLES.labels("accepted").inc(result.accepted)
            INGEST_SAMPLES.labels("duplicate").inc(result.duplicates)
        if got.retracted and not await self._retract(message, device, got):
            return ack.build(message, "AE", _not_bound(device), ack.INTERNAL), "AE"
        self._remember_ranks(device.id, got.ranks)
        self._devices.seen(device.id, utcnow())
        await self._monitor.check_patient(message, device)
        return ack.build(message, "AA"), "AA"

    async def _retract(self, message: Message, device: Hl7Device, got: extract.Readings) -> bool:
        """Corrected (OBX-11 C), deleted and wrong (D, W) values: the earlier value
        of that observation at that time is no longer a value; False when the
        device has no active session (nothing taken back)."""
        stored = set() if got.columns is None else {int(t) for t in got.columns.ts_ms}
        items = [
            (metric, ts, extract.seq_for(message.control_id, ts) if ts in stored else None)
            for metric, ts in dict.fromkeys(got.retracted)
        ]
        async with unit_of_work(self._maker) as db:
            session_id = await devices_repo.session_of(db, device.id)
            if session_id is None:
                return False
            taken = await repository.retract(db, session_id, device.id, items)
        if taken:
            log.info("hl7_values_retracted", device_id=device.id, values=taken)
        return True

    # -- identity -----------------------------------------------------------------------

    async def _identify(self, message: Message, peer: str | None) -> Hl7Device | None:
        """The device named by the message's identifiers, most specific first; the
        sender's address last (a monitor that names itself nowhere)."""
        idents = [*(v for _, v in message.identifiers), *([peer] if peer else [])]
        key = "\x1f".join(idents)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        pending = self._resolving.get(key)
        if pending is not None:  # a burst from one monitor: one lookup, not hundreds
            return await asyncio.shield(pending)
        future: asyncio.Future[Hl7Device | None] = asyncio.get_running_loop().create_future()
        self._resolving[key] = future
        try:
            found = await self._lookup(idents)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters raise it
            raise
        finally:
            self._resolving.pop(key, None)
        future.set_result(found)
        ttl = _POSITIVE_TTL_S if found is not None else _NEGATIVE_TTL_S
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (found, time.monotonic() + ttl)
        return found

    async def _lookup(self, idents: list[str]) -> Hl7Device | None:
        async with unit_of_work(self._maker) as db:
            device = await devices_repo.device_for(db, idents)
        found: Hl7Device | None = None
        if device is not None:
            try:
                tz = zone(device.hl7_timezone) if device.hl7_timezone else self._default_tz
            except BadZone:
                tz = self._default_tz
            found = Hl7Device(device.id, device.name, tz)
        return found

    def _note_sender(self, message: Message, peer: str) -> None:
        value = message.identifiers[0][1] if message.identifiers else peer
        key = devices_repo.norm(value)
        pending = self._senders.get(key)
        rows = [
            {
                "code": "^".join(p for p in (o.ident, o.text, o.system) if p),
                "type": o.value_type,
                "value": o.value[:40],
                "unit": o.unit_text or o.unit_ident,
                "metric": self._metric_of(o.ident, o.text, o.system),
            }
            for o in message.obx[:_SAMPLE_ROWS]
        ]
        self._senders[key] = {
            "display": value,
            "identifiers": [
                *({"kind": k, "value": v} for k, v in message.identifiers),
                {"kind": "address", "value": peer},
            ],
            "address": peer,
            "seen": utcnow(),
            "messages": (pending["messages"] if pending else 0) + 1,
            "sample": {
                "message_type": message.message_type,
                "version": message.version,
                "observations": rows,
            },
        }

    def _metric_of(self, ident: str, text: str, system: str) -> str | None:
        rule = self.mapping.rule(ident, text, system)
        return None if rule is None else (rule.metric or "ignored")

    def _recent_ranks(self, device_id: int) -> dict[str, int]:
        now = time.monotonic()
        return {
            m: rank
            for m, (rank, at) in self._ranks.get(device_id, {}).items()
            if now - at < _SOURCE_MEMORY_S
        }

    def _remember_ranks(self, device_id: int, ranks: dict[str, int]) -> None:
        now = time.monotonic()
        mine = self._ranks.setdefault(device_id, {})
        for metric, rank in ranks.items():
            old = mine.get(metric)
            if old is None or rank <= old[0] or now - old[1] >= _SOURCE_MEMORY_S:
                mine[metric] = (rank, now)


async def _done(reply: bytes) -> bytes:
    return reply


def _not_bound(device: Hl7Device) -> str:
    return (
        f"no active session for {device.name} (device {device.id}): start a session "
        "with this monitor; nothing stored"
    )


def _nothing_stored(skipped: list[extract.Skipped]) -> str:
    """The AA text of a message with no vital sign: how many rows were not stored
    and where they are listed (a gateway sending nothing usable leaves a trace)."""
    rows = sum(1 for s in skipped if s.reason != "other source preferred")
    if not rows:
        return "no vital signs in this message"
    return (
        f"no vital signs in this message: {rows} OBX row{'s' if rows != 1 else ''} not "
        "stored, listed with why in GET /api/v1/hl7/unmapped"
    )
