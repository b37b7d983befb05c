"""Soak (on demand, not in the suite): a long run at a ward's steady load.

One service process (SQLite, production settings). `--sessions` rooms post
one sample a second, `--dashboards` dashboards stay connected, and a probe
monitor raises, acknowledges and clears a high alarm every few seconds for
the whole run (bench/alarm_latency.py's probe). Per `--window` minutes it
reports the service's RSS, the alarm latency p99 (probe POST -> each
dashboard's receipt) and the event-loop lag (the service's own
`vitalwatch_event_loop_lag_seconds` histogram: how late a 0.25 s timer
fires), then compares the last window with the first (goal: latency within
1.2x, RSS within 10%).

    .venv/bin/python bench/soak.py [--minutes 60] [--window 10] [--sessions 1000] [--dashboards 50]
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

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import NURSE, Api, ServerProcess

from bench.alarm_latency import dashboards_worker, probe, wait_ready, ward
from bench.rawhttp import ONE_SIGN_IN_MANY_SCREENS

LAG = "vitalwatch_event_loop_lag_seconds"


@dataclass
class Window:
    started: float
    sent: dict[int, tuple[float, float]] = field(default_factory=dict)
    rss_mib: list[float] = field(default_factory=list)
    lag_buckets: dict[float, float] = field(default_factory=dict)  # le -> count in window
    lag_sum: float = 0.0
    lag_count: float = 0.0


def read_lag(url: str) -> tuple[dict[float, float], float, float]:
    """The lag histogram's cumulative buckets, sum and count, from /metrics."""
    buckets: dict[float, float] = {}
    total = count = 0.0
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(LAG + "_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if le == "+Inf" else float(le)] = float(line.split()[-1])
        elif line.startswith(LAG + "_sum"):
            total = float(line.split()[-1])
        elif line.startswith(LAG + "_count"):
            count = float(line.split()[-1])
    return buckets, total, count


def lag_p99(buckets: dict[float, float]) -> float:
    """The upper bound of the bucket holding the 99th percentile (cumulative counts)."""
    total = max(buckets.values(), default=0.0)
    for le in sorted(buckets):
        if buckets[le] >= 0.99 * total:
            return le
    return float("nan")


async def watch(url: str, pid: int, windows: list[Window], stop: asyncio.Event) -> None:
    proc = psutil.Process(pid)
    last = await asyncio.to_thread(read_lag, url)
    seen = 0
    while not stop.is_set():
        await asyncio.sleep(5)
        windows[-1].rss_mib.append(proc.memory_info().rss / 2**20)
        if len(windows) > seen + 1 or stop.is_set():  # a window closed: its lag delta
            now = await asyncio.to_thread(read_lag, url)
            w = windows[seen]
            w.lag_buckets = {le: now[0][le] - last[0].get(le, 0.0) for le in now[0]}
            w.lag_sum, w.lag_count = now[1] - last[1], now[2] - last[2]
            last, seen = now, seen + 1


def _q(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else float("nan")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--window", type=float, default=10.0, help="minutes per report row")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--dashboards", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="dashboard processes")
    args = parser.parse_args()
    env = {"VITALWATCH_ENVIRONMENT": "production", "VITALWATCH_METRICS_PUBLIC": "true"}
    env |= ONE_SIGN_IN_MANY_SCREENS
    run_s, window_s = args.minutes * 60, args.window * 60
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp), extra_env=env)
        server.create_users()
        server.start()
        assert server.proc is not None
        api = Api(server.url)
        try:
            print(f"setting up {args.sessions} rooms ...", flush=True)
            tokens = [(await api.monitored("custom"))[0]["token"] for _ in range(args.sessions)]
            probe_device, probe_session = await api.monitored("custom")
            token = await api.token(NURSE)
            ctx = mp.get_context("spawn")
            ready, results = ctx.Queue(), ctx.Queue()
            per = args.dashboards // args.workers
            procs = [
                ctx.Process(
                    target=dashboards_worker,
                    args=(
                        server.ws_url,
                        token,
                        per,
                        probe_session["id"],
                        ready,
                        results,
                        run_s + 30,
                    ),
                )
                for _ in range(args.workers)
            ]
            for p in procs:
                p.start()
            wait_ready(ready, procs, per * args.workers)
            print(f"running {args.minutes:g} min ...", flush=True)
            started = time.monotonic()
            load = asyncio.create_task(ward(server.port, tokens, started + run_s))
            windows = [Window(started)]
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch(server.url, server.proc.pid, windows, stop))
            seq = 0
            while time.monotonic() - started < run_s - 15:
                if time.monotonic() - windows[-1].started >= window_s:
                    windows.append(Window(time.monotonic()))
                    print(f"window {len(windows) - 1} done", flush=True)
                windows[-1].sent.update(
                    await probe(api, server.port, probe_device["token"], 2, seq)
                )
                seq += 4
            posted = await load
            stop.set()
            await watcher
            received: list[tuple[float, int]] = []
            for _ in procs:
                received += results.get(timeout=120)
            for p in procs:
                p.join()
        finally:
            await api.aclose()
            server.stop()
    print(
        f"\nward: {posted / run_s:,.0f} samples/s from {args.sessions} rooms, "
        f"{per * args.workers} dashboards, {args.minutes:g} min"
    )
    print(
        "| window | alarms | alarm p50 ms | alarm p99 ms | loop lag mean ms "
        "| loop lag p99 ms (bucket) | RSS MiB (end) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    p99s, rss = [], []
    for k, w in enumerate(windows):
        lat = [(t - w.sent[a][0]) * 1000 for t, a in received if a in w.sent]
        mean_lag = w.lag_sum / w.lag_count * 1000 if w.lag_count else float("nan")
        end_rss = w.rss_mib[-1] if w.rss_mib else float("nan")
        p99s.append(_q(lat, 99))
        rss.append(end_rss)
        p50 = statistics.median(lat) if lat else float("nan")
        lag = lag_p99(w.lag_buckets) * 1000
        print(
            f"| {k + 1} | {len(w.sent)} | {p50:.1f} | {p99s[-1]:.1f} | {mean_lag:.2f} "
            f"| {lag:g} | {end_rss:.0f} |"
        )
    if len(windows) > 1:
        print(
            f"\nlast / first window: alarm p99 {p99s[-1] / p99s[0]:.2f}x (goal <= 1.2x), "
            f"RSS {rss[-1] / rss[0]:.2f}x (goal <= 1.10x)"
        )


if __name__ == "__main__":
    asyncio.run(main())
