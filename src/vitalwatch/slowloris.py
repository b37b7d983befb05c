"""uvicorn's HTTP protocol with a deadline for each request head.

uvicorn closes idle keep-alive connections and the app bounds how long a body
may take (VITALWATCH_BODY_TIMEOUT_S), but nothing bounds the request line and
headers: a client that sends them a byte at a time, or connects and sends
nothing, holds its connection (and a file descriptor) for ever, and a few
hundred of them exhaust the service. nginx in front cuts such clients with
`client_header_timeout`; this does the same without it. A connection whose
request head is not complete within VITALWATCH_HEADER_TIMEOUT_S of the
connection (for its first request) or of the next request's first byte gets
408 and is closed. WebSocket upgrades are requests like any other until their
head is complete.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vitalwatch.logging import get_logger

log = get_logger(__name__)

_MESSAGE = b"The request line and headers did not arrive in time"
_TIMEOUT_RESPONSE = b"".join(
    [
        b"HTTP/1.1 408 Request Timeout\r\n",
        b"content-type: text/plain; charset=utf-8\r\n",
        b"content-length: " + str(len(_MESSAGE)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
        _MESSAGE,
    ]
)


def protocol_with_head_deadline(seconds: float) -> type[asyncio.Protocol]:
    """The httptools protocol class uvicorn is given (`http=`), with `seconds`
    for every request head."""

    class HeadDeadlineProtocol(HttpToolsProtocol):
        _head_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()  # a connection that never sends a byte is cut as well

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_deadline is None:
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._head_deadline = self.loop.call_later(seconds, self._head_timed_out)

        def _disarm(self) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
                self._head_deadline = None

        def _head_timed_out(self) -> None:
            self._head_deadline = None
            if self.transport.is_closing():
                return
            log.info("http_head_timed_out", seconds=seconds)
            self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()

    return HeadDeadlineProtocol
