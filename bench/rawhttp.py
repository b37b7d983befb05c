"""A minimal HTTP/1.1 keep-alive client for load generation.

httpx spends ~0.5 ms of client CPU per request, which on a 2-core machine
would measure the load generator rather than the service. This client only
writes a request and reads one `Content-Length` response per connection.
"""

from __future__ import annotations

import asyncio

#: The benchmarks' dashboards share one staff sign-in; a ward's screens would
#: each sign in (VITALWATCH_WS_MAX_PER_TOKEN caps sockets per sign-in).
ONE_SIGN_IN_MANY_SCREENS = {"VITALWATCH_WS_MAX_PER_TOKEN": "1000"}


class RawConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        if not any(k.lower() == "content-type" for k in headers):
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        self._writer.write(request)
        await self._writer.drain()
        status_line = await self._reader.readline()
        if not status_line:  # the server closed an idle keep-alive connection: once more
            host, port = self._writer.get_extra_info("peername")[:2]
            self._reader, self._writer = await asyncio.open_connection(host, port)
            self._writer.write(request)
            await self._writer.drain()
            status_line = await self._reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()
