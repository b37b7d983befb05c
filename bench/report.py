"""Benchmark: the session report (HTML, PDF) and the REMS form's PDF of a 3-hour session at 1 Hz.

Starts the real service with one recorded 3-h session (bench/recorded.py:
10,800 samples, a dose in three parts, observations, the sign-off), then times GET
/api/v1/sessions/{id}/report, /report.pdf and /rems-form.pdf over HTTP: median
and max of `--runs` requests each (the first one, which warms caches, reported
apart). The target: each PDF under 1 s (exit status 1 when a median is not).

    .venv/bin/python bench/report.py [--runs 7] [--hours 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.recorded import recorded_session


async def main(runs: int, hours: float) -> int:
    async with recorded_session(hours) as (_, api, sid):
        h = await api.auth()
        print(f"session of {hours:g} h at 1 Hz ({int(hours * 3600)} samples), {runs} runs each")
        print(f"{'report':<8} {'first ms':>9} {'median ms':>10} {'max ms':>8} {'size kB':>8}")
        slow = []
        for name, path in (
            ("HTML", "report"),
            ("PDF", "report.pdf"),
            ("REMS PDF", "rems-form.pdf"),
        ):
            times, size = [], 0
            for _ in range(runs + 1):
                t = time.perf_counter()
                r = await api.http.get(f"/api/v1/sessions/{sid}/{path}", headers=h)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
                size = len(r.content)
            first, rest = times[0], times[1:]
            median = statistics.median(rest)
            print(f"{name:<8} {first:>9.0f} {median:>10.0f} {max(rest):>8.0f} {size / 1024:>8.0f}")
            if path.endswith(".pdf") and median >= 1000:
                slow.append(name)
        print("target (each PDF under 1 s):", f"missed by {', '.join(slow)}" if slow else "met")
        return 1 if slow else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--hours", type=float, default=3.0)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.runs, args.hours)))
