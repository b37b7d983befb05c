"""Benchmark 2: how fast an alarm reaches every dashboard while a ward is busy.

The real service runs as a subprocess (one uvicorn worker, SQLite file,
production settings). This driver registers `--sessions` rooms posting one
sample per second each, connects `--dashboards` WebSocket dashboards (in
worker processes, so parsing frames does not slow the load), and a probe
monitor posts SBP 185 (a high-priority alarm on its first reading) every few
seconds, acknowledging and clearing it in between. Latency: from the moment
the probe's POST is sent to the moment each dashboard receives the `alarm`
event. Prints p50, p95, p99 and max.

    .venv/bin/python bench/alarm_latency.py [--sessions 1000] [--dashboards 200] [--probes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import NURSE, Api, ServerProcess

from bench.rawhttp import RawConnection


def _iso(t: float) -> str:
    return (
        datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def dashboards_worker(
    ws_url: str,
    token: str,
    count: int,
    probe_session: int,
    ready: Any,
    results: Any,
    seconds: float,
) -> None:
    """Runs `count` dashboards; reports (receive time, alarm id) of probe raises."""

    async def one(out: list[tuple[float, int]]) -> None:
        async with websockets.connect(
            f"{ws_url}?token={token}", max_size=None, open_timeout=60
        ) as ws:
            await ws.recv()  # snapshot
            ready.put(1)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                if '"type":"alarm"' not in raw[:40]:
                    continue  # vitals and pings: not parsed
                msg = orjson.loads(raw)
                alarm = msg["alarm"]
                if alarm["session_id"] == probe_session and msg.get("action") == "raised":
                    out.append((time.time(), alarm["id"]))

    async def main() -> None:
        out: list[tuple[float, int]] = []
        await asyncio.gather(*(one(out) for _ in range(count)), return_exceptions=True)
        results.put(out)

    asyncio.run(main())


async def ward(port: int, tokens: list[str], stop_at: float) -> int:
    """Every room posts one sample a second (closed loop, spread over the second)."""
    posted = 0

    async def room(k: int, token: str) -> None:
        nonlocal posted
        conn = await RawConnection.open("127.0.0.1", port)
        headers = {"Authorization": f"Bearer {token}"}
        seq = 0
        next_at = time.monotonic() + (k % 1000) / 1000
        while time.monotonic() < stop_at:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += 1.0
            body = orjson.dumps(
                {"samples": [{"ts": _iso(time.time()), "seq": seq, "hr": 74.0, "spo2": 97.0}]}
            )
            await conn.post("/api/v1/readings", body, headers)
            seq += 1
            posted += 1
        await conn.close()

    await asyncio.gather(*(room(k, t) for k, t in enumerate(tokens)))
    return posted


async def probe(api: Api, port: int, token: str, count: int) -> dict[int, float]:
    """Raise, acknowledge and clear the probe's alarm `count` times: alarm id -> sent time."""
    conn = await RawConnection.open("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[int, float] = {}
    seq = 0
    for _ in range(count):
        await asyncio.sleep(2.0)
        body = orjson.dumps(
            {"samples": [{"ts": _iso(time.time()), "seq": seq, "sbp": 185, "dbp": 90}]}
        )
        started = time.time()
        status, _ = await conn.post("/api/v1/readings", body, headers)
        seq += 1
        assert status == 202
        alarms = (
            await api.http.get(
                "/api/v1/alarms", params={"state": "active"}, headers=await api.auth()
            )
        ).json()
        mine = [a for a in alarms if a["rule"] == "sbp_high" and a["id"] not in sent]
        if not mine:
            continue
        sent[mine[0]["id"]] = started
        await api.http.post(f"/api/v1/alarms/{mine[0]['id']}/ack", headers=await api.auth())
        body = orjson.dumps(
            {"samples": [{"ts": _iso(time.time()), "seq": seq, "sbp": 120, "dbp": 80}]}
        )
        await conn.post("/api/v1/readings", body, headers)
        seq += 1
    await conn.close()
    return sent


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--dashboards", type=int, default=200)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="dashboard processes")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--url", default=None, help="use a running service instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = None
        if args.url is None:
            server = ServerProcess(
                Path(tmp),
                database_url=args.database_url,
                extra_env={"VITALWATCH_ENVIRONMENT": "production"},
            )
            server.create_users()
            server.start()
            url = server.url
        else:
            url = args.url
        port = int(url.rsplit(":", 1)[1])
        api = Api(url)
        try:
            print(f"setting up {args.sessions} rooms ...", flush=True)
            tokens = [(await api.monitored("custom"))[0]["token"] for _ in range(args.sessions)]
            probe_device, probe_session = await api.monitored("custom")
            token = await api.token(NURSE)
            duration = 2.5 * args.probes + 30
            ctx = mp.get_context("spawn")
            ready, results = ctx.Queue(), ctx.Queue()
            per = args.dashboards // args.workers
            procs = [
                ctx.Process(
                    target=dashboards_worker,
                    args=(
                        url.replace("http", "ws") + "/api/v1/ws",
                        token,
                        per,
                        probe_session["id"],
                        ready,
                        results,
                        duration,
                    ),
                )
                for _ in range(args.workers)
            ]
            for p in procs:
                p.start()
            for _ in range(per * args.workers):
                ready.get(timeout=600)
            print(f"{per * args.workers} dashboards connected; load running", flush=True)
            stop_at = time.monotonic() + 2.5 * args.probes + 5
            load = asyncio.create_task(ward(port, tokens, stop_at))
            await asyncio.sleep(3)
            sent = await probe(api, port, probe_device["token"], args.probes)
            posted = await load
            received: list[tuple[float, int]] = []
            for _ in procs:
                received += results.get(timeout=duration + 60)
            for p in procs:
                p.join()
        finally:
            await api.aclose()
            if server is not None:
                server.stop()
    latencies = sorted((t - sent[a]) * 1000 for t, a in received if a in sent)
    expected = len(sent) * per * args.workers
    q = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]  # noqa: E731
    print(
        f"ward load: {posted / (2.5 * args.probes + 2):,.0f} samples/s from {args.sessions} rooms"
    )
    print(
        f"alarm deliveries: {len(latencies)} of {expected} expected "
        f"({len(sent)} alarms x {per * args.workers} dashboards)"
    )
    print("| p50 ms | p95 ms | p99 ms | max ms |")
    print("|---:|---:|---:|---:|")
    print(
        f"| {statistics.median(latencies):.1f} | {q(95):.1f} | {q(99):.1f} | {latencies[-1]:.1f} |"
    )


if __name__ == "__main__":
    asyncio.run(main())
