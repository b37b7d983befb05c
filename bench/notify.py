"""Benchmark: time from an alarm's escalation to a secondary receiver.

The real service runs as a subprocess (SQLite file, one process); a signed
webhook receiver runs here on a loopback port (it checks the HMAC). The chain
is one step at 0 s. Each probe posts a reading that escalates a medium SBP
alarm at once (SBP 165, then 190: the critical limit); the clock starts when
that POST is sent and stops when the receiver has the request. This is the
part of the issue-12 budget "missed delivery -> secondary receiver" that the
notification path owns (the 5-s delivery rule itself comes before it).
Prints p50, p90, p99 and max, and the split at the device's 202.

    .venv/bin/python bench/notify.py [--probes 100] [--gap 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.notify.peers import Receiver, add_target, set_chain
from tests.support import Api, ServerProcess, now_utc, samples


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(probes: int, gap: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp))
        server.create_users()
        server.start()
        receiver = await Receiver(secret="bench-" + "x" * 40).start()
        api = Api(server.url)
        try:
            target = await add_target(
                api, name="bench", kind="webhook", address=receiver.url, secret=receiver.secret
            )
            await set_chain(api, (target["id"], 0))
            rooms = [await api.monitored() for _ in range(probes)]
            total: list[float] = []
            to_202: list[float] = []
            for device, _ in rooms:
                t0 = now_utc() - timedelta(seconds=10)
                await api.post(device["token"], samples(t0, 1, sbp=165, dbp=90, hr=80))
                receiver.arrived.clear()
                sent = time.time()
                r = await api.post(
                    device["token"], samples(t0 + timedelta(seconds=5), 1, seq0=1, sbp=190)
                )
                accepted = time.time()
                assert r.status_code == 202, r.text
                await asyncio.wait_for(receiver.arrived.wait(), 30)
                got = receiver.got[-1]
                assert got.verdict == "ok", got.verdict
                total.append((got.at - sent) * 1000)
                to_202.append((accepted - sent) * 1000)
                await asyncio.sleep(gap)
        finally:
            await api.aclose()
            await receiver.stop()
            server.stop()
    after = [t - a for t, a in zip(total, to_202, strict=True)]
    print(f"probes: {probes} (one process, SQLite, chain: one webhook step at 0 s)")
    print("                       p50      p90      p99      max   (ms)")
    for name, values in (
        ("trigger -> receiver", total),
        ("  trigger -> 202", to_202),
        ("  202 -> receiver", after),
    ):
        print(
            f"{name:20} {statistics.median(values):8.1f} {pct(values, 90):8.1f} "
            f"{pct(values, 99):8.1f} {max(values):8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between probes")
    args = parser.parse_args()
    asyncio.run(run(args.probes, args.gap))


if __name__ == "__main__":
    main()
