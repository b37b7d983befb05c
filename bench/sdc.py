"""Benchmark: IEEE 11073 SDC metric reports -> dashboards, beside HL7 over MLLP.

One server (one uvicorn worker, SQLite synchronous=FULL, production settings)
with its SDC consumer on `lo` and an MLLP listener. `--providers` real
sdc11073 providers (simulators.sdc.SdcMonitor, `--per-process` to a
process) are discovered, each bound to a monitor device in a session by the
binding API. `--dashboards` WebSocket dashboards (worker processes) watch.

1. SDC: each provider sends one episodic metric report a second (HR and
   SpO2, determination time = the moment it is sent), for `--seconds`.
2. The SDC sessions are ended, the providers stopped; `--providers` HL7
   monitors in new sessions send one ORU^R01 a second (HR and SpO2, stamped
   when sent) over MLLP, for `--seconds`.

Each monitor sends at a random moment of each second: at fixed phases every
value would meet the dashboards' 250-ms vitals tick at the same point, and
the latency would be that phase rather than the path's.

Latency, per path: from a value's own time stamp (its send) to each
dashboard's `vitals` frame carrying it (the tile's update), the first
`--warmup` seconds of a phase left out. CPU: the service's CPU seconds over a
phase per report (per message) sent, and the same less what the service
used idle (links subscribed, dashboards connected, nothing sent) over as
long. The load average is printed with the figures: the machine is shared.

    .venv/bin/python bench/sdc.py [--providers 50] [--per-process 1] [--dashboards 20]
                                  [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulators.hl7 import Identity, MllpClient, oru_r01
from tests.support import ADMIN, NURSE, Api, ServerProcess, free_port, mllp_port, mllp_server

from bench.alarm_latency import wait_ready
from bench.mllp import hl7_rooms
from bench.rawhttp import ONE_SIGN_IN_MANY_SCREENS


def providers_worker(
    first: int, count: int, port: int, ready: Any, go: Any, stop: Any, results: Any
) -> None:
    """`count` providers in this process; once `go` is set, each sends one metric
    report a second (the ward's reports spread evenly over the second) until `stop`."""
    from simulators.sdc import SdcMonitor

    monitors = []
    for k in range(first, first + count):
        m = SdcMonitor(adapter="lo", serial=f"BENCH-{os.getpid()}-{k}", discovery_port=port)
        m.start()
        monitors.append(m)
        ready.put(m.epr)
    go.wait()
    cpu0, sent, n = time.process_time(), 0, 0
    started = time.monotonic()
    rng = random.Random(first)
    while not stop.is_set():
        # this second's reports, each at a random moment of it
        for at, m in sorted((started + n + rng.random(), i) for i in range(count)):
            if stop.wait(max(0.0, at - time.monotonic())):
                break
            monitors[m].report({"hr": 60.0 + n % 40, "spo2": 97.0}, time.time(), {})
            sent += 1
        n += 1
    results.put((sent, time.process_time() - cpu0))
    for m in monitors:  # bye, and the subscriptions ended
        m.stop()


def dashboards_worker(ws_url: str, token: str, count: int, ready: Any, stop: Any, out: Any) -> None:
    """`count` dashboards; reports (session id, receive time, latency s) for each
    newer value of a session a `vitals` frame brings."""

    async def one(got: list[tuple[int, float, float]]) -> None:
        ws = await websockets.connect(f"{ws_url}?token={token}", max_size=None, open_timeout=60)
        await ws.recv()  # snapshot
        ready.put(1)
        newest: dict[int, int] = {}
        async with ws:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(decode=False), 1.0)
                except TimeoutError:
                    continue
                if b'"type":"vitals"' not in raw[:40]:
                    continue
                now = time.time()
                for item in orjson.loads(raw)["items"]:
                    sid, ts = item["session_id"], item.get("ts_ms")
                    if ts is not None and ts > newest.get(sid, 0):
                        newest[sid] = ts
                        got.append((sid, now, now - ts / 1000))

    async def main() -> None:
        got: list[tuple[int, float, float]] = []
        outcomes = await asyncio.gather(*(one(got) for _ in range(count)), return_exceptions=True)
        failed = [repr(e) for e in outcomes if isinstance(e, BaseException)]
        if failed:
            print(f"{len(failed)} of {count} dashboards failed: {failed[0]}", file=sys.stderr)
        out.put(got)

    asyncio.run(main())


async def bind_all(api: Api, eprs: list[str]) -> list[int]:
    """A monitor device and a session per provider, each bound as an admin binds
    (once the consumer has heard the provider): the session ids."""
    admin = await api.auth(ADMIN)
    sessions = []
    for k, epr in enumerate(eprs):
        device = await api.device(f"SDC {k}")
        deadline = time.monotonic() + 60
        while True:
            r = await api.http.post(
                "/api/v1/sdc/providers/bind",
                json={"epr": epr, "device_id": device["id"]},
                headers=admin,
            )
            if r.status_code == 201:
                break
            if r.status_code != 404 or time.monotonic() > deadline:
                raise SystemExit(f"binding {epr}: {r.status_code} {r.text}")
            await asyncio.sleep(0.25)
        sessions.append(int((await api.session([device["id"]], "custom"))["id"]))
    return sessions


async def hl7_ward(port: int, rooms: list[tuple[Identity, int, int]], seconds: float) -> int:
    """Each room one ORU^R01 a second (HR and SpO2, stamped when sent), each at a
    random moment of the second, over its own MLLP connection: how many were sent."""
    sent = 0

    async def room(k: int, who: Identity) -> None:
        nonlocal sent
        rng = random.Random(k)
        async with MllpClient("127.0.0.1", port) as c:
            started = time.monotonic()
            for n in range(int(seconds)):
                await asyncio.sleep(max(0.0, started + n + rng.random() - time.monotonic()))
                values = {"hr": 60.0 + n % 40, "spo2": 97.0}
                await c.send(oru_r01("ihe", who, f"w{n}", time.time(), values))
                sent += 1

    await asyncio.gather(*(room(k, who) for k, (who, _, _) in enumerate(rooms)))
    return sent


async def reports_stored(server: ServerProcess, sessions: set[int]) -> int:
    """Reports (messages) stored: an SDC report's metrics are a row each, an
    ORU^R01's one row; one time stamp per device is one report."""
    rows = await server.sql("SELECT session_id, count(DISTINCT ts_ms) FROM readings GROUP BY 1")
    return sum(n for sid, n in rows if sid in sessions)


def _figures(lat: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(lat, n=100)
    return q[49] * 1000, q[98] * 1000, max(lat) * 1000


async def run(args: argparse.Namespace) -> None:
    ctx = mp.get_context("spawn")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server: ServerProcess = mllp_server(
            Path(tmp),
            f"sqlite+aiosqlite:///{tmp}/vw.db",
            VITALWATCH_ENVIRONMENT="production",
            VITALWATCH_SDC_ADAPTER="lo",
            VITALWATCH_SDC_DISCOVERY_PORT=str(port),
            **ONE_SIGN_IN_MANY_SCREENS,
        )
        server.create_users()
        server.start()
        api = Api(server.url)
        ready, go, stop, results = ctx.Queue(), ctx.Event(), ctx.Event(), ctx.Queue()
        per = args.per_process
        providers = [
            ctx.Process(
                target=providers_worker,
                args=(first, min(per, args.providers - first), port, ready, go, stop, results),
            )
            for first in range(0, args.providers, per)
        ]
        dash_ready, dash_stop, dash_out = ctx.Queue(), ctx.Event(), ctx.Queue()
        each = args.dashboards // 2
        dashboards: list[Any] = []
        load: list[tuple[float, float, float]] = [os.getloadavg()]
        try:
            for p in providers:
                p.start()
            eprs = [ready.get(timeout=120) for _ in range(args.providers)]
            print(f"{len(eprs)} SDC providers up; binding ...", flush=True)
            sdc_sessions = await bind_all(api, eprs)
            token = await api.token(NURSE)
            dashboards = [
                ctx.Process(
                    target=dashboards_worker,
                    args=(server.ws_url, token, each, dash_ready, dash_stop, dash_out),
                )
                for _ in range(2)
            ]
            for d in dashboards:
                d.start()
            wait_ready(dash_ready, dashboards, 2 * each)
            print(f"{2 * each} dashboards; SDC phase, {args.seconds:g} s", flush=True)
            await asyncio.sleep(5)  # every link subscribed
            cpu0 = server.cpu_seconds()
            await asyncio.sleep(args.idle)
            idle_per_s = (server.cpu_seconds() - cpu0) / args.idle
            cpu0 = server.cpu_seconds()
            sdc_from = time.time() + args.warmup
            go.set()
            await asyncio.sleep(args.seconds)
            stop.set()
            sdc_cpu = server.cpu_seconds() - cpu0
            sdc_until = time.time()
            sent = [results.get(timeout=60) for _ in providers]
            load.append(os.getloadavg())
            for p in providers:
                p.join(60)
            admin = await api.auth(ADMIN)
            for sid in sdc_sessions:
                await api.http.post(f"/api/v1/sessions/{sid}/end", headers=admin)
            sdc_stored = await reports_stored(server, set(sdc_sessions))

            print(f"HL7 phase: {args.providers} rooms over MLLP, {args.seconds:g} s", flush=True)
            rooms = await hl7_rooms(api, args.providers, "05DC")
            hl7_sessions = {sid for _, _, sid in rooms}
            cpu0 = server.cpu_seconds()
            hl7_from = time.time() + args.warmup
            hl7_sent = await hl7_ward(mllp_port(server), rooms, args.seconds)
            hl7_cpu = server.cpu_seconds() - cpu0
            hl7_until = time.time()
            load.append(os.getloadavg())
            hl7_stored = await reports_stored(server, hl7_sessions)
            dash_stop.set()
            got: list[tuple[int, float, float]] = []
            for _ in dashboards:
                got += dash_out.get(timeout=60)
        finally:
            stop.set()
            dash_stop.set()
            for p in (*providers, *dashboards):
                p.join(30)
                if p.is_alive():
                    p.kill()
            await api.aclose()
            server.stop()
    sdc_set = set(sdc_sessions)
    sdc_lat = [lat for sid, at, lat in got if sid in sdc_set and sdc_from <= at <= sdc_until]
    hl7_lat = [lat for sid, at, lat in got if sid in hl7_sessions and hl7_from <= at <= hl7_until]
    sdc_n = sum(n for n, _ in sent)
    provider_cpu = sum(c for _, c in sent)
    print(
        f"\n{args.providers} monitors, 1 report/s each, {2 * each} dashboards, "
        f"{args.seconds:g} s a phase (first {args.warmup:g} s left out of the latency)"
    )
    print(
        "| path | reports sent | stored | update -> dashboard p50 / p99 / max ms "
        "| service CPU per report | less idle |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, stored, lat, cpu in (
        ("SDC (episodic metric report)", sdc_n, sdc_stored, sdc_lat, sdc_cpu),
        ("HL7 ORU^R01 over MLLP", hl7_sent, hl7_stored, hl7_lat, hl7_cpu),
    ):
        p50, p99, worst = _figures(lat)
        print(
            f"| {name} | {n:,} | {stored:,} | {p50:.1f} / {p99:.1f} / {worst:.1f} "
            f"| {cpu / n * 1e6:,.0f} us | {(cpu - idle_per_s * args.seconds) / n * 1e6:,.0f} us |"
        )
    print(f"\nservice CPU idle: {idle_per_s * 100:.1f}% of a core")
    print(f"provider processes' CPU per report: {provider_cpu / sdc_n * 1e6:,.0f} us")
    print(
        "load average (1/5/15 min) at start, after SDC, after HL7: "
        + "; ".join(f"{a:.1f}/{b:.1f}/{c:.1f}" for a, b, c in load)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=50)
    parser.add_argument(
        "--per-process", type=int, default=1, help="providers a process (1: as real monitors)"
    )
    parser.add_argument("--dashboards", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds measured idle")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
