"""Benchmark 3: vitals fan-out to 10, 100 and 1,000 dashboards.

The real service runs as a subprocess (one uvicorn worker, SQLite file,
production settings); `--rooms` monitors post one sample a second each, every
sample stamped with the time it is sent. For each dashboard count, that many
WebSocket dashboards connect from worker processes (so parsing frames does
not load the driver) and, for `--seconds`, every `vitals` frame is parsed:
items delivered per second over all dashboards, frames per dashboard per
second, and the lag of every item (a sample's send time -> the dashboard
receiving the frame that carries it; the service coalesces vitals for up to
250 ms by contract). "Slowest dashboard": the highest per-dashboard p99 lag.

    .venv/bin/python bench/fanout.py [--rooms 100] [--dashboards 10,100,1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import NURSE, Api, ServerProcess

from bench.alarm_latency import wait_ready, ward
from bench.rawhttp import ONE_SIGN_IN_MANY_SCREENS


@dataclass
class Dashboard:
    """What one dashboard received while measuring (filled in as frames arrive)."""

    frames: int = 0
    items: int = 0
    lags_ms: list[float] = field(default_factory=list)
    connected: bool = False
    error: str | None = None


def dashboards_worker(
    ws_url: str, token: str, count: int, ready: Any, go: Any, results: Any, seconds: float
) -> None:
    """Runs `count` dashboards; once `go` is set, measures for `seconds` and
    reports a Dashboard per dashboard that stayed connected (failures on stderr)."""

    async def one(d: Dashboard, measuring: asyncio.Event) -> None:
        try:
            async with websockets.connect(
                f"{ws_url}?token={token}", max_size=None, open_timeout=120
            ) as ws:
                await ws.recv(decode=False)  # snapshot
                ready.put(1)
                d.connected = True
                while True:
                    raw = await ws.recv(decode=False)
                    received = time.time() * 1000
                    if not measuring.is_set() or b'"type":"vitals"' not in raw[:40]:
                        continue
                    items = orjson.loads(raw)["items"]
                    d.frames += 1
                    d.items += len(items)
                    d.lags_ms += [received - item["ts_ms"] for item in items]
        except Exception as exc:
            d.error = repr(exc)
            if not d.connected:
                ready.put(0)

    async def main() -> None:
        boards = [Dashboard() for _ in range(count)]
        measuring = asyncio.Event()
        tasks = [asyncio.create_task(one(d, measuring)) for d in boards]
        await asyncio.to_thread(go.wait)  # a cross-process event
        measuring.set()
        cpu = time.process_time()
        await asyncio.sleep(seconds)
        measuring.clear()
        cpu = time.process_time() - cpu
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        failed = [d.error for d in boards if d.error is not None]
        if failed:
            print(f"{len(failed)} of {count} dashboards failed: {failed[0]}", file=sys.stderr)
        results.put((cpu, [d for d in boards if d.error is None]))

    asyncio.run(main())


def _q(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run_case(
    server: ServerProcess, token: str, count: int, workers: int, seconds: float
) -> dict[str, float]:
    """Connect `count` dashboards, measure for `seconds`, disconnect them. Also
    the CPU share of the server and of the dashboard processes meanwhile (one
    core = 100%): on 2 cores, a saturated driver would measure itself."""
    url = server.url
    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    shares = [count // workers + (1 if k < count % workers else 0) for k in range(workers)]
    procs = [
        ctx.Process(
            target=dashboards_worker,
            args=(url.replace("http", "ws") + "/api/v1/ws", token, n, ready, go, results, seconds),
        )
        for n in shares
        if n
    ]
    for p in procs:
        p.start()
    connected = wait_ready(ready, procs, count)
    time.sleep(2.0)  # let the snapshot traffic settle
    assert server.proc is not None
    server_cpu = psutil.Process(server.proc.pid)
    before = sum(server_cpu.cpu_times()[:2])
    go.set()
    time.sleep(seconds)
    server_share = (sum(server_cpu.cpu_times()[:2]) - before) / seconds
    boards: list[Dashboard] = []
    driver_share = 0.0
    for _ in procs:
        cpu, measured = results.get(timeout=seconds + 120)
        boards += measured
        driver_share += cpu / seconds
    for p in procs:
        p.join()
    per_board_p99 = [_q(b.lags_ms, 99) for b in boards if b.lags_ms]
    lags = [lag for b in boards for lag in b.lags_ms]
    return {
        "dashboards": count,
        "connected": connected,
        "measured": len(boards),
        "items_s": sum(b.items for b in boards) / seconds,
        "frames_s": statistics.median(b.frames for b in boards) / seconds if boards else 0.0,
        "lag_p50": statistics.median(lags) if lags else float("nan"),
        "lag_p99": _q(lags, 99) if lags else float("nan"),
        "slowest_p99": max(per_board_p99, default=float("nan")),
        "lag_max": max(lags, default=float("nan")),
        "server_cpu": server_share * 100,
        "dashboards_cpu": driver_share * 100,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--dashboards", default="10,100,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="dashboard processes")
    args = parser.parse_args()
    counts = [int(x) for x in args.dashboards.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp),
            extra_env={"VITALWATCH_ENVIRONMENT": "production", **ONE_SIGN_IN_MANY_SCREENS},
        )
        server.create_users()
        server.start()
        api = Api(server.url)
        rows = []
        try:
            print(f"setting up {args.rooms} rooms ...", flush=True)
            tokens = [(await api.monitored("custom"))[0]["token"] for _ in range(args.rooms)]
            token = await api.token(NURSE)
            port = int(server.url.rsplit(":", 1)[1])
            load = asyncio.create_task(ward(port, tokens, time.monotonic() + 24 * 3600))
            await asyncio.sleep(2)
            for count in counts:
                # the dashboards' processes block on queues: keep the ward's loop running
                rows.append(
                    await asyncio.to_thread(
                        run_case, server, token, count, args.workers, args.seconds
                    )
                )
                print(f"{count} dashboards measured", file=sys.stderr, flush=True)
            load.cancel()
        finally:
            await api.aclose()
            server.stop()
    print(
        f"{args.rooms} rooms posting 1 sample/s each; {args.seconds:.0f} s per case; "
        "lag: sample sent -> vitals frame received"
    )
    print(
        "| dashboards | items/s delivered | frames/s per dashboard | lag p50 ms | lag p99 ms "
        "| slowest dashboard p99 ms | lag max ms | server CPU % | dashboards CPU % |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        note = "" if r["measured"] == r["dashboards"] else f" ({r['measured']:.0f} measured)"
        print(
            f"| {r['dashboards']:,.0f}{note} | {r['items_s']:,.0f} | {r['frames_s']:.2f} "
            f"| {r['lag_p50']:.0f} | {r['lag_p99']:.0f} | {r['slowest_p99']:.0f} "
            f"| {r['lag_max']:.0f} | {r['server_cpu']:.0f} | {r['dashboards_cpu']:.0f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
