"""Benchmark: how long a takeover takes, at size.

`--rooms` active sessions, each with `--minutes` of readings at 1 Hz stored
in PostgreSQL (written straight into the database, ten group commits a
second), three service processes on it with Redis between them (lease
`--lease` s). Two are killed with kill -9; printed: seconds from the kill
until the survivor owns every partition, until a sample of every room is
answered 202 by it, and how many of its own leases it lost meanwhile (none,
if renewal never waits behind the rebuild). Uses the servers at
VITALWATCH_TEST_POSTGRES_URL and VITALWATCH_TEST_REDIS_URL (`.ci/services`).

    .venv/bin/python bench/takeover.py [--rooms 100,1000] [--minutes 20] [--lease 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.backends import fresh_database, postgres_admin_url, require_redis
from tests.faults.takeover import cluster_processes, kill_and_measure, seed_rooms, until_owned

PARTITIONS = 8


async def one(rooms: int, minutes: float, lease: float) -> None:
    url = fresh_database(postgres_admin_url())
    t = time.monotonic()
    seeded = await seed_rooms(url, rooms, minutes)
    seed_s = time.monotonic() - t
    with tempfile.TemporaryDirectory() as tmp:
        servers = cluster_processes(Path(tmp), 3, url, require_redis(), PARTITIONS, lease)
        try:
            for s in servers:
                s.start()
            await until_owned(servers, [3, 3, 2], timeout=300)
            result = await kill_and_measure(servers, 2, PARTITIONS, seeded, timeout=300)
        finally:
            for s in servers:
                s.stop()
    print(
        f"| {rooms:,} | {minutes:g} | {rooms * int(minutes * 60):,} | {lease:g} "
        f"| {result.served_after_s:.1f} | {result.rooms_answered_after_s:.1f} "
        f"| {result.survivor_leases_lost} | {seed_s:.0f} |",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", default="100,1000")
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--lease", type=float, default=5)
    args = parser.parse_args()
    print("| rooms | min of history | readings | lease s | all partitions owned s ", end="")
    print("| every room answered 202 s | survivor leases lost | seeding s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rooms in (int(r) for r in args.rooms.split(",")):
        await one(rooms, args.minutes, args.lease)


if __name__ == "__main__":
    asyncio.run(main())
