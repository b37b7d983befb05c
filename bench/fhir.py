"""Benchmark: the FHIR export of one session, every page of its Observation search.

Starts the real service with the session bench/recorded.py records (3 h of
HR/SpO2/RR at 1 Hz, a cuff BP every 5 min, a dose, observations every 15
min), then follows
GET /fhir/r4/Observation?encounter=<session>&_count=<page> and its `next`
links to the end, over HTTP: median and max of `--runs` whole exports (the
first one, which warms caches, reported apart), and the service's CPU time
per export (its process's user + system time: the figure that holds on a
shared, loaded machine, where wall time waits for a CPU). The target: under 2 s.

    .venv/bin/python bench/fhir.py [--runs 5] [--hours 3] [--page 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import Api

from bench.recorded import recorded_session


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _export(api: Api, sid: int, page: int) -> tuple[float, int, int]:
    """(seconds, resources, pages) of one whole export."""
    h = await api.auth()
    t = time.perf_counter()
    url: str | None = f"/fhir/r4/Observation?encounter={sid}&_count={page}"
    resources = pages = 0
    total = None
    while url is not None:
        r = await api.http.get(url, headers=h)
        assert r.status_code == 200, r.text
        bundle = orjson.loads(r.content)
        total = bundle["total"] if total is None else total  # the first page's
        resources += sum(1 for e in bundle.get("entry", []) if e["search"]["mode"] == "match")
        pages += 1
        url = next((k["url"] for k in bundle["link"] if k["relation"] == "next"), None)
    assert resources == total, (resources, total)
    return time.perf_counter() - t, resources, pages


async def main(runs: int, hours: float, page: int) -> None:
    async with recorded_session(hours) as (server, api, sid):
        assert server.proc is not None
        pid = server.proc.pid
        results, cpu = [], []
        for _ in range(runs + 1):
            before = _cpu_s(pid)
            results.append(await _export(api, sid, page))
            cpu.append((_cpu_s(pid) - before) * 1000)
        _, resources, pages = results[0]
        times = [s * 1000 for s, _, _ in results]
        first, rest = times[0], times[1:]
        print(
            f"session of {hours:g} h at 1 Hz: {resources} Observations in {pages} pages "
            f"of {page}, {runs} runs; load average {os.getloadavg()[0]:.1f}"
        )
        print(f"{'':<12} {'first ms':>9} {'median ms':>10} {'max ms':>8}")
        print(f"{'wall':<12} {first:>9.0f} {statistics.median(rest):>10.0f} {max(rest):>8.0f}")
        print(
            f"{'service CPU':<12} {cpu[0]:>9.0f} {statistics.median(cpu[1:]):>10.0f} "
            f"{max(cpu[1:]):>8.0f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.hours, args.page))
