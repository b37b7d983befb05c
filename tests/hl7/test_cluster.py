"""Production mode: HL7 readings reach the process that evaluates their session.

Two service processes on one PostgreSQL database with Redis between them;
every message goes to process A's MLLP listener, the sessions are spread over
both processes' partitions. AA still means stored and evaluated, a resend is
stored once, and the alarm a message raises reaches a dashboard on B."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from simulators.hl7 import Identity, MllpClient, ack_code, oru_r01

from tests.backends import new_database_url, require_redis
from tests.support import ADMIN, NURSE, Api, ServerProcess, free_port, mllp_port

PARTITIONS = 4


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    redis_url = require_redis()
    database_url = new_database_url("postgresql", tmp_path)
    env = {
        "VITALWATCH_REDIS_URL": redis_url,
        "VITALWATCH_REDIS_PREFIX": f"vwtest-{secrets.token_hex(4)}",
        "VITALWATCH_PARTITIONS": str(PARTITIONS),
        "VITALWATCH_MLLP_TIMEZONE": "UTC",
    }
    secret = secrets.token_urlsafe(48)
    procs = []
    for k in range(2):
        (tmp_path / f"p{k}").mkdir()
        procs.append(
            ServerProcess(
                tmp_path / f"p{k}",
                database_url=database_url,
                secret=secret,
                extra_env=env | {"VITALWATCH_MLLP_PORT": str(free_port())},
            )
        )
    procs[0].create_users()
    for p in procs:
        p.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the partitions shared out: 2 each
        owned = [
            next(
                int(float(line.split()[-1]))
                for line in httpx.get(p.url + "/metrics", timeout=5).text.splitlines()
                if line.startswith("vitalwatch_partitions_owned ")
            )
            for p in procs
        ]
        if owned == [2, 2]:
            break
        time.sleep(0.2)
    yield procs[0], procs[1]
    for p in procs:
        p.stop()


async def test_hl7_through_one_process_is_evaluated_by_the_owner(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    api = Api(a.url)
    rooms = []
    try:
        for k in range(PARTITIONS):  # one session in every partition
            who = Identity(f"00C0FFEE0000{k:04X}", f"CL^^{k}")
            r = await api.http.post(
                "/api/v1/devices",
                json={"name": f"Cluster {k}", "hl7_ids": [who.eui64]},
                headers=await api.auth(ADMIN),
            )
            device = r.json()
            session = await api.session([device["id"]], "custom")
            rooms.append((who, device["id"], session["id"]))
        token = await api.token(NURSE)
        ws = await websockets.connect(f"{b.ws_url}?token={token}", open_timeout=10)
        await ws.recv()  # snapshot
        t = int(time.time()) - 30
        async with MllpClient("127.0.0.1", mllp_port(a)) as c:
            for who, _, _ in rooms:
                messages = [oru_r01("ihe", who, str(i), t + i, {"hr": 80}) for i in range(5)]
                messages.append(oru_r01("ihe", who, "bp", t + 5, {"sbp": 190, "dbp": 95}))
                acks = await c.send_many(messages + messages)  # and every one resent
                assert [ack_code(x)[0] for x in acks] == ["AA"] * 12
        for _, device_id, _ in rooms:
            rows = await a.sql("SELECT count(*) FROM readings WHERE device_id=:d", d=device_id)
            assert rows == [(6,)]
        raised = set()
        deadline = time.monotonic() + 15
        while len(raised) < len(rooms) and time.monotonic() < deadline:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if msg["type"] == "alarm" and msg["alarm"]["metric"] == "sbp":
                raised.add(msg["alarm"]["session_id"])
        await ws.close()
        assert raised == {sid for _, _, sid in rooms}
    finally:
        await api.aclose()
