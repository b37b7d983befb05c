"""The live stream through a real server and a real WebSocket client."""

from __future__ import annotations

import asyncio
import itertools
import socket
import statistics
import time
from datetime import timedelta
from typing import Any

import pytest
import websockets

from tests.support import Api, ServerProcess, connect, now_utc, recv, samples, until


async def test_snapshot_first_with_sessions_and_alarms(api: Api, server: ServerProcess) -> None:
    _, session = await api.monitored()
    ws = await connect(server, api)
    try:
        first = await recv(ws)
        assert first["type"] == "snapshot"
        assert isinstance(first["event_id"], int)
        assert session["id"] in [s["id"] for s in first["sessions"]]
        assert isinstance(first["alarms"], list)
    finally:
        await ws.close()


async def test_bad_or_missing_token_closes_with_4401(server: ServerProcess) -> None:
    for url in (server.ws_url, server.ws_url + "?token=nonsense"):
        ws = await websockets.connect(url)
        if "?" not in url:  # the first message must be {"type": "auth", ...}
            await ws.send('{"type": "status", "visible": true, "sound": true}')
        with pytest.raises(websockets.ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4401


async def test_vitals_frames_are_coalesced(api: Api, server: ServerProcess) -> None:
    device, session = await api.monitored()
    ws = await connect(server, api)
    try:
        await recv(ws)  # snapshot
        frames: list[tuple[float, dict[str, Any]]] = []

        async def read() -> None:  # timestamps frames as they arrive, while posting
            while True:
                msg = await recv(ws, 10)
                if msg["type"] == "vitals":
                    frames.append((time.monotonic(), msg))

        reader = asyncio.create_task(read())
        t0 = now_utc() - timedelta(seconds=60)
        started = time.monotonic()
        for k in range(20):  # 20 posts as fast as possible
            await api.post(
                device["token"], samples(t0 + timedelta(seconds=k), 1, seq0=k, hr=60 + k)
            )
        elapsed = time.monotonic() - started
        await asyncio.sleep(1.5)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        items = [i for _, m in frames for i in m["items"] if i["session_id"] == session["id"]]
        assert items and items[-1]["hr"] == 79, "the last frame carries the latest value"
        assert len(frames) <= (elapsed + 1.5) / 0.25 + 2, "at most one frame per 250 ms"
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(frames)]
        # one frame per 250 ms, not one per commit (a loaded client may read two at once)
        assert not gaps or statistics.median(gaps) > 0.15, gaps
    finally:
        await ws.close()


async def test_session_events_and_replay_after_reconnect(api: Api, server: ServerProcess) -> None:
    ws = await connect(server, api)
    snap = await recv(ws)
    cursor = snap["event_id"]
    _, s1 = await api.monitored()
    msg = await until(ws, lambda m: m["type"] == "session" and m["session"]["id"] == s1["id"])
    assert msg["event_id"] > cursor
    cursor = msg["event_id"]
    await ws.close()

    # while the dashboard is away: two more sessions start, one ends
    _, s2 = await api.monitored()
    _, s3 = await api.monitored()
    await api.http.post(f"/api/v1/sessions/{s2['id']}/end", headers=await api.auth())

    ws = await connect(server, api, since=cursor)
    try:
        snap = await recv(ws)
        assert snap["type"] == "snapshot" and snap["event_id"] == cursor
        seen: list[dict[str, Any]] = []
        while len(seen) < 3:
            m = await recv(ws)
            if m["type"] == "session":
                seen.append(m)
        ids = [m["event_id"] for m in seen]
        assert ids == sorted(ids) and ids[0] > cursor
        assert [m["session"]["id"] for m in seen] == [s2["id"], s3["id"], s2["id"]]
        assert seen[-1]["session"]["status"] == "ended"
    finally:
        await ws.close()


async def test_ping_at_least_every_10_s(api: Api, server: ServerProcess) -> None:
    ws = await connect(server, api)
    try:
        await recv(ws)
        msg = await until(ws, lambda m: m["type"] == "ping", timeout=11)
        assert isinstance(msg["event_id"], int)
    finally:
        await ws.close()


async def test_stuck_client_does_not_delay_a_fast_one(api: Api, server: ServerProcess) -> None:
    """A dashboard that never reads must not hold up others or ingest."""
    token = await api.token(("nurse", "nurse-password-1"))
    # a raw socket that completes the handshake and then never reads
    port = int(server.url.rsplit(":", 1)[1])
    stuck = socket.create_connection(("127.0.0.1", port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(
        (
            f"GET /api/v1/ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    fast = await connect(server, api)
    try:
        await recv(fast)
        devices = [await api.monitored() for _ in range(10)]
        t0 = now_utc() - timedelta(minutes=5)
        # lots of traffic: vitals for the stuck client pile up (coalesced), sessions too
        for k in range(30):
            await asyncio.gather(
                *(
                    api.post(d["token"], samples(t0 + timedelta(seconds=k), 1, seq0=k, hr=70 + k))
                    for d, _ in devices
                )
            )
        sent = time.monotonic()
        _, late = await api.monitored()
        await until(
            fast, lambda m: m["type"] == "session" and m["session"]["id"] == late["id"], timeout=3
        )
        assert time.monotonic() - sent < 1.0
    finally:
        await fast.close()
        stuck.close()
