"""Benchmark: HL7 v2 over MLLP, ACK after the durable commit, one worker.

1. Throughput: `--connections` monitors (one MLLP connection each) send ORU^R01
   messages of HR, SpO2, RR and a BP, each keeping `--window` messages in
   flight (pipelined, ACKs in order), for `--seconds`. Counted: messages
   acknowledged AA per second; checked: every acknowledged message stored.
2. Alarm latency: `--rooms` HL7 monitors send one message a second; a probe
   monitor sends SBP 185 (a high alarm on its first reading) every few seconds
   over MLLP; `--dashboards` WebSocket dashboards; latency from the probe's
   MLLP send to each dashboard's `alarm` event (bench/alarm_latency.py's
   dashboards and report).

    .venv/bin/python bench/mllp.py [--connections 100,1] [--seconds 10] [--rooms 200]
                                   [--dashboards 50] [--probes 20] [--skip-latency]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulators.hl7 import Identity, MllpClient, ack_code, oru_r01
from tests.support import ADMIN, NURSE, Api, ServerProcess, mllp_port, mllp_server

from bench.alarm_latency import dashboards_worker, report, wait_ready
from bench.rawhttp import ONE_SIGN_IN_MANY_SCREENS


def bench_server(tmp: str) -> ServerProcess:
    """The service (one worker, SQLite synchronous=FULL, production settings) with MLLP."""
    server = mllp_server(
        Path(tmp),
        f"sqlite+aiosqlite:///{tmp}/vw.db",
        VITALWATCH_ENVIRONMENT="production",
        **ONE_SIGN_IN_MANY_SCREENS,
    )
    server.create_users()
    server.start()
    return server


async def hl7_rooms(api: Api, n: int, tag: str) -> list[tuple[Identity, int, int]]:
    """`n` HL7 monitors, each in a session: (identity, device id, session id)."""
    out = []
    admin = await api.auth(ADMIN)
    for k in range(n):
        who = Identity(f"{tag}{k:06X}"[-16:].rjust(16, "0"), f"BENCH^^{k}")
        r = await api.http.post(
            "/api/v1/devices", json={"name": f"HL7 {k}", "hl7_ids": [who.eui64]}, headers=admin
        )
        device = r.json()
        session = await api.session([device["id"]], "custom")
        out.append((who, int(device["id"]), int(session["id"])))
    return out


async def _sender(port: int, who: Identity, t0: float, window: int, stop_at: float, k: int) -> int:
    """Closed loop: `window` messages in flight; returns how many were acknowledged."""
    acked = 0
    seq = 0
    async with MllpClient("127.0.0.1", port) as c:

        def next_message() -> bytes:
            nonlocal seq
            seq += 1
            values = {"hr": 72.0, "spo2": 98.0, "rr": 14.0, "sbp": 121.0, "dbp": 79.0}
            return oru_r01("ihe", who, f"{k}-{seq}", t0 + seq * 0.01, values)

        for _ in range(window):
            c.write(next_message())
        in_flight = window
        while in_flight:
            ack = await c.read_ack()
            in_flight -= 1
            if ack_code(ack)[0] != "AA":
                raise RuntimeError(f"not AA: {ack[:300]!r}")
            acked += 1
            if time.monotonic() < stop_at:
                c.write(next_message())
                in_flight += 1
    return acked


async def throughput(connections: int, seconds: float, window: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server = bench_server(tmp)
        api = Api(server.url)
        try:
            rooms = await hl7_rooms(api, connections, "00BE")
            t0 = time.time() - 6 * 3600
            cpu0 = server.cpu_seconds()
            started = time.monotonic()
            counts = await asyncio.gather(
                *(
                    _sender(mllp_port(server), who, t0 - k * 3600, window, started + seconds, k)
                    for k, (who, _, _) in enumerate(rooms)
                )
            )
            elapsed = time.monotonic() - started
            cpu = server.cpu_seconds() - cpu0
            stored = (await server.sql("SELECT count(*) FROM readings"))[0][0]
            if stored != sum(counts):
                raise RuntimeError(f"{sum(counts)} acknowledged, {stored} stored")
        finally:
            await api.aclose()
            server.stop()
    n = sum(counts)
    return {"messages_per_s": n / elapsed, "messages": n, "cpu_us_per_message": cpu / n * 1e6}


async def ward(port: int, rooms: list[tuple[Identity, int, int]], stop_at: float) -> int:
    """Each room one message a second (HR, SpO2, RR), stamped when sent."""
    sent = 0

    async def room(k: int, who: Identity) -> None:
        nonlocal sent
        async with MllpClient("127.0.0.1", port) as c:
            next_at = time.monotonic() + k / len(rooms)
            n = 0
            while time.monotonic() < stop_at:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += 1.0
                n += 1
                values = {"hr": 74.0, "spo2": 97.0, "rr": 14.0}
                await c.send(oru_r01("ihe", who, f"w{n}", time.time(), values))
                sent += 1

    await asyncio.gather(*(room(k, who) for k, (who, _, _) in enumerate(rooms)))
    return sent


async def probe(
    api: Api, port: int, who: Identity, session_id: int, count: int
) -> dict[int, tuple[float, float]]:
    """SBP 185 over MLLP, acknowledged and cleared `count` times:
    alarm id -> (MLLP send time, AA time)."""
    sent: dict[int, tuple[float, float]] = {}
    async with MllpClient("127.0.0.1", port) as c:
        for n in range(count):
            await asyncio.sleep(2.0)
            started = time.time()
            ack = await c.send(oru_r01("ihe", who, f"p{n}", started, {"sbp": 185, "dbp": 90}))
            acked = time.time()
            assert ack_code(ack)[0] == "AA", ack
            alarms = (
                await api.http.get(
                    "/api/v1/alarms",
                    params={"state": "active", "session_id": session_id},
                    headers=await api.auth(),
                )
            ).json()
            mine = [a for a in alarms if a["metric"] == "sbp" and a["id"] not in sent]
            if not mine:
                continue
            sent[mine[0]["id"]] = (started, acked)
            await api.http.post(f"/api/v1/alarms/{mine[0]['id']}/ack", headers=await api.auth())
            await c.send(oru_r01("ihe", who, f"c{n}", time.time(), {"sbp": 120, "dbp": 80}))
    return sent


async def latency(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = bench_server(tmp)
        api = Api(server.url)
        port = mllp_port(server)
        try:
            print(f"setting up {args.rooms} HL7 rooms ...", flush=True)
            rooms = await hl7_rooms(api, args.rooms + 1, "00AB")
            (probe_who, _, probe_session), rooms = rooms[0], rooms[1:]
            token = await api.token(NURSE)
            duration = 2.5 * args.probes + 30
            ctx = mp.get_context("spawn")
            ready, results = ctx.Queue(), ctx.Queue()
            per = args.dashboards // args.workers
            procs: list[Any] = [
                ctx.Process(
                    target=dashboards_worker,
                    args=(server.ws_url, token, per, probe_session, ready, results, duration),
                )
                for _ in range(args.workers)
            ]
            for p in procs:
                p.start()
            connected = wait_ready(ready, procs, per * args.workers)
            print(f"{connected} dashboards connected; HL7 ward running", flush=True)
            stop_at = time.monotonic() + 2.5 * args.probes + 5
            load = asyncio.create_task(ward(port, rooms, stop_at))
            await asyncio.sleep(3)
            sent = await probe(api, port, probe_who, probe_session, args.probes)
            posted = await load
            received: list[tuple[float, int]] = []
            for _ in procs:
                received += results.get(timeout=duration + 60)
            for p in procs:
                p.join()
        finally:
            await api.aclose()
            server.stop()
    report(sent, received, per * args.workers, posted / (2.5 * args.probes + 5), args.rooms)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", default="100,1")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--window",
        type=int,
        default=0,
        help="in flight per connection (default: 20 with many connections, 500 with one)",
    )
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--dashboards", type=int, default=50)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="dashboard processes")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    if not args.skip_throughput:
        print(
            "| connections | in flight each | messages/s (HR, SpO2, RR, BP each) "
            "| service CPU per message |"
        )
        print("|---:|---:|---:|---:|")
        for n in (int(x) for x in args.connections.split(",")):
            window = args.window or (500 if n == 1 else 20)
            r = await throughput(n, args.seconds, window)
            print(
                f"| {n} | {window} | {r['messages_per_s']:,.0f} "
                f"| {r['cpu_us_per_message']:.0f} us |",
                flush=True,
            )
    if not args.skip_latency:
        await latency(args)


if __name__ == "__main__":
    asyncio.run(main())
