"""Readings ingest: validate, then hand to the group-commit writer."""

from __future__ import annotations

import asyncio
import time

from vitalwatch.db import from_ms, utcnow
from vitalwatch.devices.service import DeviceDirectory, DeviceIdentity
from vitalwatch.errors import Conflict, Conflicts, DomainError, Invalid, Unavailable
from vitalwatch.logging import get_logger
from vitalwatch.metrics import INGEST_LATENCY, INGEST_REQUESTS, INGEST_SAMPLES
from vitalwatch.readings.ports import SampleSink
from vitalwatch.readings.repeats import Cells, Clash, SampleConflict
from vitalwatch.readings.schemas import MAX_SAMPLES, IngestAck
from vitalwatch.readings.validation import SampleProblems, parse_readings
from vitalwatch.readings.writer import DeviceNotBound, IngestResult, IngestUnavailable
from vitalwatch.samples import SampleColumns
from vitalwatch.vitals import METRICS

log = get_logger(__name__)


class DeviceUnauthorized(DomainError):
    """No device token, or one that names no device: a 401 before the body is read."""

    status = 401
    headers = {"WWW-Authenticate": "Bearer"}


class NotBound(Conflict):
    def __init__(self, device_id: int) -> None:
        super().__init__(
            f"Device {device_id} is not bound to an active session; nothing was stored"
        )


def _measured(values: Cells) -> dict[str, float]:
    return {m: v for m, v in zip(METRICS, values, strict=True) if v is not None}


def _worded(values: Cells) -> str:
    return ", ".join(f"{m} {v:g}" for m, v in _measured(values).items()) or "no values"


class Conflicting(Conflicts):
    """Samples that repeat a stored (seq, ts) with other values: not retries, and
    not stored beside the stored ones (one row per seq and time), so the whole
    request is refused and says which samples and what is stored."""

    def __init__(self, clashes: list[Clash]) -> None:
        super().__init__([self._error(c) for c in clashes[:100]])

    @staticmethod
    def _error(clash: Clash) -> dict[str, object]:
        at = from_ms(clash.ts_ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "type": "conflict",
            "loc": ["body", "samples", clash.index],
            "msg": (
                f"seq {clash.seq} at {at} is stored with {_worded(clash.stored)}; this sample "
                f"has {_worded(clash.sent)}: a repeat must carry the stored values (a retry), "
                "a new measurement a new seq or time; nothing of this request was stored"
            ),
            "seq": clash.seq,
            "ts": at,
            "stored": _measured(clash.stored),
        }


class NotStored(Unavailable):
    def __init__(self) -> None:
        super().__init__(
            "Readings not stored: the database did not accept the commit; retry the batch"
        )


#: Bodies larger than this are parsed in a worker thread, one at a time, so a
#: device's big backlog does not hold the event loop (and every alarm) while
#: it is decoded; the thread gives the loop the interpreter every few ms.
OFF_LOOP_BYTES = 256 * 1024
_big_parses = asyncio.Semaphore(1)


async def authenticate(token: str | None, directory: DeviceDirectory) -> DeviceIdentity:
    """The posting device, before its body is read (DeviceUnauthorized: a 401)."""
    if token is None:
        raise _unauthorized("Not authenticated: send Authorization: Bearer <device token>")
    device = await directory.resolve(token)
    if device is None:
        raise _unauthorized("Invalid device token")
    return device


def too_many_samples_error() -> dict[str, object]:
    """The 422 for a body with more objects than MAX_SAMPLES samples plus its own,
    counted without parsing (the router counts "{" as the body arrives; a
    legitimate body has no "{" inside a string: its only strings are times and
    numbers)."""
    return {
        "type": "too_long",
        "loc": ("body", "samples"),
        "msg": f"send at most {MAX_SAMPLES:,} samples per request",
    }


async def _parse(body: bytes, max_future_s: float) -> SampleColumns:
    now_ms, future_ms = int(time.time() * 1000), int(max_future_s * 1000)
    if len(body) <= OFF_LOOP_BYTES:
        return parse_readings(body, now_ms, future_ms)
    async with _big_parses:
        return await asyncio.to_thread(parse_readings, body, now_ms, future_ms)


async def ingest(
    body: bytes,
    device: DeviceIdentity,
    directory: DeviceDirectory,
    cluster: SampleSink,
    max_future_s: float,
) -> IngestAck:
    """Store a device's batch durably; raise the domain error a device must see."""
    started = time.perf_counter()
    try:
        columns = await _parse(body, max_future_s)
    except SampleProblems as exc:
        INGEST_REQUESTS.labels("invalid").inc()
        raise Invalid(exc.errors) from None
    try:
        result = await submit(cluster, directory, device.id, columns)
    except DeviceNotBound:
        INGEST_REQUESTS.labels("not_bound").inc()
        raise NotBound(device.id) from None
    except IngestUnavailable:
        INGEST_REQUESTS.labels("unavailable").inc()
        raise NotStored() from None
    except SampleConflict as exc:
        INGEST_REQUESTS.labels("conflict").inc()
        log.info("readings_conflict", device_id=device.id, samples=len(exc.clashes))
        raise Conflicting(exc.clashes) from None
    INGEST_REQUESTS.labels("accepted").inc()
    INGEST_LATENCY.observe(time.perf_counter() - started)
    return IngestAck(accepted=result.accepted, duplicates=result.duplicates)


async def submit(
    cluster: SampleSink, directory: DeviceDirectory, device_id: int, columns: SampleColumns
) -> IngestResult:
    """The durable path of every way in (JSON, SDC): stored and evaluated in the
    partition's group commit, the device seen, the samples counted. Raises
    DeviceNotBound (no active session) and IngestUnavailable (not committed)."""
    result = await cluster.submit(device_id, columns)
    directory.seen(device_id, utcnow())
    INGEST_SAMPLES.labels("accepted").inc(result.accepted)
    INGEST_SAMPLES.labels("duplicate").inc(result.duplicates)
    return result


def _unauthorized(detail: str) -> DeviceUnauthorized:
    INGEST_REQUESTS.labels("unauthorized").inc()
    return DeviceUnauthorized(detail)
