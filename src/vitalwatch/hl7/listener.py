"""The MLLP listener: asyncio TCP (optionally TLS) in the service process.

Framing: 0x0B <message> 0x1C 0x0D. A connection may carry one message or
thousands; every message gets exactly one ACK, in the order received, on the
same connection. Messages are parsed in arrival order and stored
concurrently (a pipelining sender shares group commits); ORU^R40 reports run
one after another, so an alarm's start is never stored after its end, and a
message that corrects or deletes values runs after everything received
before it (so after the value it takes back).

Bytes outside a frame: line ends are skipped, anything else (more than a few
bytes) closes the connection. A frame over the size limit is answered AR and
skipped to its end. A half frame that stalls is dropped after a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any, Protocol

from vitalwatch.config import Settings
from vitalwatch.hl7 import ack
from vitalwatch.hl7.parser import parse
from vitalwatch.logging import get_logger
from vitalwatch.metrics import HL7_CONNECTIONS, HL7_MESSAGES

log = get_logger(__name__)

START, END, CR = 0x0B, 0x1C, 0x0D
#: Bytes outside frames tolerated before the connection is closed (a sender
#: that does not frame at all, or a port scanner).
_GARBAGE_LIMIT = 1024
#: A frame that has started must end within this long.
_FRAME_TIMEOUT_S = 30.0
#: A connection silent this long is closed (a monitor sends every few seconds
#: and reconnects; a peer that never sends must not hold a connection forever).
_IDLE_TIMEOUT_S = 900.0
#: Messages parsed and not yet acknowledged, per connection.
_IN_FLIGHT = 256
_READ = 1 << 16
#: Of an oversized frame, this much is read for its MSH (to name it in the AR).
_HEAD = 4096


class _Oversized:
    def __init__(self, head: bytes) -> None:
        self.head = head


class Prepared(Protocol):
    #: run after the previous ordered message of the connection
    ordered: bool
    #: run after every message received before it on the connection
    barrier: bool

    def run(self) -> Coroutine[Any, Any, bytes | None]: ...


class Handler(Protocol):
    def prepare(self, payload: bytes, peer: str) -> Prepared: ...


def frame(payload: bytes) -> bytes:
    return b"\x0b" + payload + b"\x1c\x0d"


def _allow_list(text: str | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    if not text:
        return None
    return [
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    ]


class MllpServer:
    def __init__(self, settings: Settings, handler: Handler) -> None:
        assert settings.mllp_port is not None
        self._host = settings.mllp_host or settings.host
        self._port = settings.mllp_port
        self._handler = handler
        self._max = settings.mllp_max_message_bytes
        self._allow = _allow_list(settings.mllp_allow)
        self._ssl: ssl.SSLContext | None = None
        if settings.mllp_tls_cert and settings.mllp_tls_key:
            self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ssl.load_cert_chain(settings.mllp_tls_cert, settings.mllp_tls_key)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, ssl=self._ssl, limit=_READ
        )
        log.info("mllp_listening", host=self._host, port=self.port, tls=self._ssl is not None)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(self._connections, timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def _allowed(self, host: str) -> bool:
        if self._allow is None:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self._allow)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        HL7_CONNECTIONS.inc()
        peer = writer.get_extra_info("peername")
        host = str(peer[0]) if peer else "unknown"
        try:
            if not self._allowed(host):
                log.warning("mllp_sender_refused", address=host)
                return
            await self._connection(reader, writer, host)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("mllp_connection_failed", address=host)
        finally:
            HL7_CONNECTIONS.dec()
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)

    async def _connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        pending: asyncio.Queue[asyncio.Task[bytes | None] | None] = asyncio.Queue(_IN_FLIGHT)
        sender = asyncio.create_task(self._answer(pending, writer))
        previous_ordered: asyncio.Task[bytes | None] | None = None
        running: set[asyncio.Task[bytes | None]] = set()
        try:
            async for payload in self._frames(reader, host):
                task: asyncio.Task[bytes | None]
                if sender.done():
                    break  # the peer stopped reading ACKs (connection lost)
                if isinstance(payload, _Oversized):  # answered AR, not stored
                    task = asyncio.create_task(_now(_oversized(payload.head, self._max)))
                else:
                    prepared = self._handler.prepare(payload, host)
                    if prepared.barrier:
                        task = asyncio.create_task(_after(list(running), prepared))
                        previous_ordered = task
                    elif prepared.ordered:
                        before = [] if previous_ordered is None else [previous_ordered]
                        task = asyncio.create_task(_after(before, prepared))
                        previous_ordered = task
                    else:
                        task = asyncio.create_task(_run(prepared))
                running.add(task)
                task.add_done_callback(running.discard)
                await pending.put(task)
        finally:
            await pending.put(None)
            with contextlib.suppress(Exception):
                await sender

    async def _answer(
        self,
        pending: asyncio.Queue[asyncio.Task[bytes | None] | None],
        writer: asyncio.StreamWriter,
    ) -> None:
        """ACKs in the order the messages came; no ACK (storage down) closes the
        connection, so the sender resends everything not acknowledged."""
        while True:
            task = await pending.get()
            if task is None:
                return
            reply = await task
            if reply is None:
                writer.close()
                return
            writer.write(frame(reply))
            await writer.drain()

    async def _frames(
        self, reader: asyncio.StreamReader, host: str
    ) -> AsyncIterator[bytes | _Oversized]:
        """Frame payloads in order; _Oversized for a frame that was too large."""
        buffer = bytearray()
        head = b""
        in_frame = False
        skipping = False  # inside an oversized frame, until its end
        garbage = 0
        while True:
            timeout = _FRAME_TIMEOUT_S if (in_frame or skipping) else _IDLE_TIMEOUT_S
            try:
                chunk = await asyncio.wait_for(reader.read(_READ), timeout)
            except TimeoutError:
                if in_frame or skipping:
                    log.warning("mllp_frame_stalled", address=host, bytes=len(buffer))
                return
            if not chunk:
                return
            start = 0
            while start < len(chunk):
                if not in_frame and not skipping:
                    at = chunk.find(START, start)
                    outside = chunk[start : len(chunk) if at < 0 else at]
                    garbage += len(outside.strip())
                    if garbage > _GARBAGE_LIMIT:
                        log.warning("mllp_not_framed", address=host)
                        return
                    if at < 0:
                        break
                    in_frame, start = True, at + 1
                    buffer.clear()
                    continue
                end = chunk.find(END, start)
                part = chunk[start : len(chunk) if end < 0 else end]
                restart = part.find(START)
                if restart >= 0 and not skipping:  # a new frame before this one ended
                    log.warning("mllp_frame_restarted", address=host)
                    buffer.clear()
                    start += restart + 1
                    continue
                if skipping:
                    pass
                elif len(buffer) + len(part) > self._max:
                    skipping, in_frame = True, False
                    head = bytes((buffer + part)[:_HEAD])
                    buffer.clear()
                else:
                    buffer += part
                if end < 0:
                    break
                start = end + 1
                if skipping:
                    skipping = False
                    yield _Oversized(head)
                else:
                    in_frame = False
                    yield bytes(buffer)
                    buffer.clear()
                garbage = 0


async def _run(prepared: Prepared) -> bytes | None:
    return await prepared.run()


async def _after(previous: list[asyncio.Task[bytes | None]], prepared: Prepared) -> bytes | None:
    await settled(previous)
    return await prepared.run()


async def settled(previous: Sequence[asyncio.Future[bytes | None]]) -> None:
    """Until every task of `previous` is done (whatever it returned or raised)."""
    if previous:
        await asyncio.wait(previous)


async def _now(reply: bytes) -> bytes | None:
    return reply


def _oversized(head: bytes, limit: int) -> bytes:
    HL7_MESSAGES.labels("oversized", "AR").inc()
    first = head.replace(b"\n", b"\r").split(b"\r", 1)[0]
    try:
        message = parse(first)
    except Exception:
        message = None
    return ack.build(
        message, "AR", f"message over {limit:,} bytes: not taken; nothing stored", ack.SEGMENT
    )
