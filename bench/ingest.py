"""Benchmark 1: samples/s acknowledged by one worker, batches x concurrent devices.

Starts the real service as a subprocess (one uvicorn worker, SQLite file,
production settings, synchronous=FULL), registers devices and sessions, then
drives it from this separate process: every device posts its next batch as
soon as the previous one is acknowledged (closed loop). Prints a table.

    .venv/bin/python bench/ingest.py [--seconds 5] [--batches 1,10,100,1000]
                                     [--devices 1,10,100,1000] [--loop asyncio --http h11]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import Api, ServerProcess

from bench.rawhttp import RawConnection


def _batch(t0: float, seq: int, size: int) -> bytes:
    samples = []
    for i in range(size):
        ts = datetime.fromtimestamp(t0 + (seq + i) * 0.001, tz=UTC)
        samples.append(
            {
                "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "seq": seq + i,
                "hr": 72.0,
                "spo2": 98.0,
                "rr": 14.0,
            }
        )
    return orjson.dumps({"samples": samples})


async def _device(
    port: int, token: str, size: int, stop_at: float, t0: float, latencies: list[float]
) -> int:
    conn = await RawConnection.open("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"}
    seq = 0
    acked = 0
    try:
        while time.monotonic() < stop_at:
            body = _batch(t0, seq, size)
            sent = time.perf_counter()
            status, _ = await conn.post("/api/v1/readings", body, headers)
            latencies.append(time.perf_counter() - sent)
            if status != 202:
                raise RuntimeError(f"status {status}: {_[:300]!r}")
            acked += size
            seq += size
    finally:
        await conn.close()
    return acked


async def run_case(
    server: ServerProcess, tokens: list[str], size: int, seconds: float
) -> dict[str, float]:
    port = int(server.url.rsplit(":", 1)[1])
    latencies: list[float] = []
    t0 = time.time() - 3 * 3600  # timestamps in the past, spaced 1 ms per sample
    started = time.monotonic()
    stop_at = started + seconds
    counts = await asyncio.gather(
        *(
            _device(port, tok, size, stop_at, t0 - k * 10_000, latencies)
            for k, tok in enumerate(tokens)
        )
    )
    elapsed = time.monotonic() - started
    latencies.sort()
    stored = (await server.sql("SELECT count(*) FROM readings"))[0][0]
    if stored != sum(counts):  # "acknowledged" must mean durably stored
        raise RuntimeError(f"{sum(counts)} samples acknowledged but {stored} stored")
    return {
        "samples_per_s": sum(counts) / elapsed,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--batches", default="1,10,100,1000")
    parser.add_argument("--devices", default="1,10,100,1000")
    parser.add_argument("--loop", default="uvloop", help="the server's: uvloop or asyncio")
    parser.add_argument("--http", default="httptools", help="the server's: httptools or h11")
    args = parser.parse_args()
    env = {
        "VITALWATCH_ENVIRONMENT": "production",
        "VITALWATCH_LOOP": args.loop,
        "VITALWATCH_HTTP": args.http,
    }
    batches = [int(x) for x in args.batches.split(",")]
    device_counts = [int(x) for x in args.devices.split(",")]

    print("| devices | batch | samples/s | requests/s | ack p50 ms | ack p99 ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n_devices in device_counts:
        for size in batches:
            with tempfile.TemporaryDirectory() as tmp:
                server = ServerProcess(Path(tmp), extra_env=env)
                server.create_users()
                server.start()
                api = Api(server.url)
                try:
                    tokens = []
                    for _ in range(n_devices):
                        device, _ = await api.monitored("custom")
                        tokens.append(device["token"])
                    r = await run_case(server, tokens, size, args.seconds)
                finally:
                    await api.aclose()
                    server.stop()
            print(
                f"| {n_devices} | {size} | {r['samples_per_s']:,.0f} | {r['requests_per_s']:,.0f} "
                f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
