"""Benchmark: samples per second through the alarm engine alone (no I/O).

For 10, 100, 1,000 and 10,000 active sessions and batches of 1, 100 and
10,000 samples: realistic values (mostly normal, some near the limits), every
session configured with the default limits. Prints medians of several runs
and the cost per sample. 5% of sessions have values drifting across the
limits (so alarms are raised and cleared all the time); the rest are normal.
Run on demand:

    .venv/bin/python bench/engine.py [--repeats 7] [--batches 1,100,10000]
                                     [--sessions 10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from vitalwatch.alarms.engine import AlarmEngine, SessionConfig
from vitalwatch.samples import SampleBatch
from vitalwatch.sessions.thresholds import defaults_for
from vitalwatch.vitals import METRICS

T0 = 1_800_000_000.0


def make_engine(sessions: int) -> AlarmEngine:
    engine = AlarmEngine()
    limits = defaults_for("ketamine-iv")
    for sid in range(1, sessions + 1):
        engine.upsert_session(
            SessionConfig(
                sid,
                "ketamine-iv",
                limits,
                {sid: f"Bay {sid}"},
                T0,
                first_dose_at=T0 + 600,
                baseline={"sbp": 120, "dbp": 80, "hr": 72},
            )
        )
    return engine


def make_batches(
    sessions: int, size: int, count: int, rng: np.random.Generator
) -> list[SampleBatch]:
    """Consecutive batches; each session's samples advance 1 s at a time."""
    batches = []
    clock = np.zeros(sessions + 1)
    for _ in range(count):
        sid = rng.integers(1, sessions + 1, size)
        values = np.full((size, len(METRICS)), np.nan)
        # a ward: most patients normal, 5% of sessions drifting across the limits
        sick = sid > sessions - max(1, sessions // 20)
        values[:, METRICS.index("hr")] = np.where(
            sick, rng.normal(125, 25, size), rng.normal(76, 8, size)
        ).clip(25, 250)
        values[:, METRICS.index("spo2")] = np.where(
            sick, rng.normal(90, 4, size), rng.normal(97, 1.2, size)
        ).clip(60, 100)
        values[:, METRICS.index("rr")] = np.where(
            rng.random(size) < 0.25, rng.normal(14, 2, size).clip(1, 60), np.nan
        )
        cuff = rng.random(size) < 0.01
        values[cuff, METRICS.index("sbp")] = rng.normal(130, 25, cuff.sum()).clip(70, 250)
        values[cuff, METRICS.index("dbp")] = values[cuff, METRICS.index("sbp")] * 0.62
        ts = np.empty(size)
        for i, s in enumerate(sid.tolist()):  # setup only, not measured
            clock[s] += 1.0
            ts[i] = T0 + clock[s]
        ts_ms = np.rint(ts * 1000).astype(np.int64)
        ids = sid.astype(np.int64)
        seq = np.arange(size, dtype=np.int64)
        batches.append(SampleBatch(ids, ids, seq, ts_ms, values, int(ts_ms.max())))
    return batches


def measure(sessions: int, size: int, repeats: int) -> tuple[float, float]:
    """(median samples/s, median ns per sample) over `repeats` runs."""
    rng = np.random.default_rng(sessions * 7 + size)
    total = max(size, 200_000 if size > 1 else 5_000)
    count = max(1, total // size)
    rates = []
    for _ in range(repeats):
        engine = make_engine(sessions)
        batches = make_batches(sessions, size, count, rng)
        engine.evaluate(batches[0])  # warm up
        started = time.perf_counter()
        for b in batches[1:] or batches:
            engine.evaluate(b)
        elapsed = time.perf_counter() - started
        rates.append(size * max(1, count - 1) / elapsed)
    rate = statistics.median(rates)
    return rate, 1e9 / rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", default="1,100,10000")
    parser.add_argument("--sessions", default="10,100,1000,10000")
    args = parser.parse_args()
    print("| sessions | batch | samples/s | ns/sample |")
    print("|---:|---:|---:|---:|")
    for size in (int(x) for x in args.batches.split(",")):
        for sessions in (int(x) for x in args.sessions.split(",")):
            rate, ns = measure(sessions, size, args.repeats)
            print(f"| {sessions:,} | {size:,} | {rate:,.0f} | {ns:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
