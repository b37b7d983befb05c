"""Benchmark 4: the service's resident memory after 1,000 sessions x 3 h of 1 Hz samples.

Starts the real service (SQLite, production settings), opens the sessions,
posts each session's 3 hours (simulated time, in the past) in batches of
1,000 samples, then reads the server process's RSS with psutil.

    .venv/bin/python bench/memory.py [--sessions 1000] [--hours 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import Api, ServerProcess

from bench.rawhttp import ONE_SIGN_IN_MANY_SCREENS, RawConnection


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--parallel", type=int, default=20)
    args = parser.parse_args()
    per_session = int(args.hours * 3600)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp),
            extra_env={"VITALWATCH_ENVIRONMENT": "production", **ONE_SIGN_IN_MANY_SCREENS},
        )
        server.create_users()
        server.start()
        assert server.proc is not None
        proc = psutil.Process(server.proc.pid)
        api = Api(server.url)
        try:
            tokens = [(await api.monitored("custom"))[0]["token"] for _ in range(args.sessions)]
            rss_start = proc.memory_info().rss
            port = int(server.url.rsplit(":", 1)[1])
            t0 = time.time() - args.hours * 3600 - 60
            queue: asyncio.Queue[str] = asyncio.Queue()
            for token in tokens:
                queue.put_nowait(token)
            started = time.monotonic()

            async def worker() -> None:
                conn = await RawConnection.open("127.0.0.1", port)
                while not queue.empty():
                    token = queue.get_nowait()
                    for seq in range(0, per_session, 1000):
                        size = min(1000, per_session - seq)
                        samples = [  # 1 Hz: one sample per second of the session
                            {
                                "ts": time.strftime(
                                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + seq + i)
                                ),
                                "seq": seq + i,
                                "hr": 72.0,
                                "spo2": 98.0,
                                "rr": 14.0,
                            }
                            for i in range(size)
                        ]
                        status, _ = await conn.post(
                            "/api/v1/readings",
                            orjson.dumps({"samples": samples}),
                            {"Authorization": f"Bearer {token}"},
                        )
                        assert status == 202, status
                await conn.close()

            await asyncio.gather(*(worker() for _ in range(args.parallel)))
            elapsed = time.monotonic() - started
            rss_end = proc.memory_info().rss
            total = args.sessions * per_session
        finally:
            await api.aclose()
            server.stop()
    print(
        f"{total:,} samples ({args.sessions} sessions x {args.hours:g} h at 1 Hz) "
        f"stored in {elapsed:.0f} s ({total / elapsed:,.0f} samples/s)"
    )
    print(
        f"server RSS: {rss_start / 2**20:.0f} MiB after opening the sessions, "
        f"{rss_end / 2**20:.0f} MiB after the samples"
    )


if __name__ == "__main__":
    asyncio.run(main())
