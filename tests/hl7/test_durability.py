"""AA means durable: kill -9 between receipt and ACK loses nothing acknowledged,
and the sender's resend of everything is stored once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from simulators.hl7 import Identity, MllpClient, ack_code, oru_r01

from tests.support import ADMIN, Api, ServerProcess, free_port, mllp_port

STREAMS = 4
PER_STREAM = 4000


async def _stream(port: int, who: Identity, messages: list[bytes], acked: set[int]) -> None:
    """Pipelined in batches of 50; ACKs read as they come, until the server dies."""
    try:
        async with MllpClient("127.0.0.1", port, timeout=10) as c:
            for start in range(0, len(messages), 50):
                batch = messages[start : start + 50]
                for m in batch:
                    c.write(m)
                for k in range(len(batch)):
                    if ack_code(await c.read_ack())[0] == "AA":
                        acked.add(start + k)
    except (ConnectionError, OSError, asyncio.IncompleteReadError, TimeoutError):
        return


async def test_kill_9_between_receipt_and_ack_then_resend_stores_each_message_once(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server(VITALWATCH_MLLP_PORT=str(free_port()), VITALWATCH_MLLP_TIMEZONE="UTC")
    server.start()
    api = Api(server.url)
    t0 = int(time.time()) - 3 * 3600
    streams = []
    try:
        for k in range(STREAMS):
            who = Identity(f"00A0370000{k:06X}", f"ICU^^{k}")
            r = await api.http.post(
                "/api/v1/devices",
                json={"name": f"Bed {k}", "hl7_ids": [who.eui64]},
                headers=await api.auth(ADMIN),
            )
            device = r.json()
            await api.session([device["id"]])
            messages = [
                oru_r01("ihe", who, str(i % 100), t0 + i, {"hr": 60 + i % 40, "spo2": 97})
                for i in range(PER_STREAM)  # control ids restart every 100 messages
            ]
            streams.append((who, device["id"], messages, set[int]()))
    finally:
        await api.aclose()
    port = mllp_port(server)
    tasks = [asyncio.create_task(_stream(port, w, m, a)) for w, _, m, a in streams]
    deadline = time.monotonic() + 60
    while sum(len(a) for *_, a in streams) < 400 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    server.kill9()  # messages are in flight: received, some stored, not all acknowledged
    await asyncio.gather(*tasks)
    acked_total = sum(len(a) for *_, a in streams)
    assert 0 < acked_total < STREAMS * PER_STREAM, acked_total

    server.start()
    for _, device_id, _, acked in streams:
        rows = await server.sql("SELECT ts_ms FROM readings WHERE device_id=:d", d=device_id)
        stored = {int(r[0]) // 1000 - t0 for r in rows}
        assert acked <= stored, "an acknowledged message was lost"
    for who, _, messages, _ in streams:  # the sender resends everything
        async with MllpClient("127.0.0.1", port) as c:
            acks = await c.send_many(messages)
        assert {ack_code(a)[0] for a in acks} == {"AA"}, who
    with contextlib.suppress(Exception):
        server.stop()
    for _, device_id, _, _ in streams:
        rows = await server.sql(
            "SELECT ts_ms, hr FROM readings WHERE device_id=:d ORDER BY ts_ms", d=device_id
        )
        assert [(int(t) // 1000 - t0, hr) for t, hr in rows] == [
            (i, 60.0 + i % 40) for i in range(PER_STREAM)
        ]
