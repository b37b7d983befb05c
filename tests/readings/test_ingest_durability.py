"""An acknowledged sample survives kill -9; concurrent devices share commits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from tests.support import Api, ServerProcess, now_utc, samples


async def _stream(
    api: Api, token: str, acked: set[int], stop: asyncio.Event, start_seq: int
) -> None:
    seq = start_seq
    t0 = now_utc() - timedelta(hours=1)
    while not stop.is_set():
        batch = samples(t0 + timedelta(seconds=seq), 25, seq0=seq, hr=70, spo2=97)
        try:
            r = await api.post(token, batch)
        except httpx.HTTPError:
            return  # the server died under us: this batch was never acknowledged
        if r.status_code == 202:
            acked.update(range(seq, seq + 25))
        seq += 25


async def test_kill_9_mid_stream_loses_no_acknowledged_sample(
    own_server: tuple[ServerProcess, Api],
) -> None:
    server, api = own_server
    devices = []
    for _ in range(4):
        device, _session = await api.monitored()
        devices.append(device)
    acked: dict[int, set[int]] = {d["id"]: set() for d in devices}
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_stream(api, d["token"], acked[d["id"]], stop, 0)) for d in devices
    ]
    await asyncio.sleep(2.0)
    server.kill9()  # mid-stream: requests are in flight
    stop.set()
    await asyncio.gather(*tasks)
    total_acked = sum(len(s) for s in acked.values())
    assert total_acked > 500, "the stream should have been acknowledged many times"

    server.start()  # restart on the same database file
    server.stop()
    for device_id, seqs in acked.items():
        rows = await server.sql("SELECT seq FROM readings WHERE device_id=:d", d=device_id)
        missing = seqs - {row[0] for row in rows}
        assert not missing, f"device {device_id}: {len(missing)} acknowledged samples lost"


async def test_concurrent_devices_share_group_commits(api: Api, server: ServerProcess) -> None:
    pairs = [await api.monitored() for _ in range(20)]
    t0 = now_utc() - timedelta(minutes=30)

    async def post_many(token: str) -> None:
        for k in range(10):
            r = await api.post(token, samples(t0 + timedelta(seconds=k), 1, seq0=k, hr=70))
            assert r.status_code == 202

    await asyncio.gather(*(post_many(d["token"]) for d, _ in pairs))
    metrics = httpx.get(server.url + "/metrics").text
    line = next(
        m for m in metrics.splitlines() if m.startswith("vitalwatch_ingest_commit_requests_sum")
    )
    count_line = next(
        m for m in metrics.splitlines() if m.startswith("vitalwatch_ingest_commit_requests_count")
    )
    requests = float(line.split()[-1])
    commits = float(count_line.split()[-1])
    assert requests >= 200
    assert commits < requests, "concurrent requests should share commits"


async def test_latest_values_after_a_restart_come_from_the_database(
    own_server: tuple[ServerProcess, Api],
) -> None:
    """After a restart the dashboard's first values are read back: per session and
    metric the newest stored one, blood pressure older than heart rate."""
    server, api = own_server
    t0 = now_utc() - timedelta(minutes=10)
    expected = {}
    for k in range(60):  # more than one statement's worth of sessions
        device, session = await api.monitored("custom")
        cuff = samples(t0, 1, sbp=120 + k, dbp=70, map=87)
        monitor = samples(t0 + timedelta(seconds=30), 4, seq0=1, hr=60 + k, spo2=95)
        monitor[-1]["hr"] = 61 + k  # the newest HR differs from the others
        r = await api.post(device["token"], cuff + monitor)
        assert r.status_code == 202, r.text
        expected[session["id"]] = (120 + k, 61 + k)
    server.stop()
    server.start()
    sessions = (
        await api.http.get("/api/v1/sessions?status=active", headers=await api.auth())
    ).json()
    got = {
        s["id"]: (s["latest"]["sbp"]["value"], s["latest"]["hr"]["value"])
        for s in sessions
        if s["id"] in expected
    }
    assert got == expected
    some = next(s for s in sessions if s["id"] in expected)
    assert some["latest"]["sbp"]["ts"] < some["latest"]["hr"]["ts"]
    assert set(some["latest"]) == {"hr", "sbp", "dbp", "map", "spo2"}  # no RR was sent
