"""Event-loop lag: how late a short timer fires. Every alarm waits that long
too, so it is watched (a metric, and the soak benchmark reads it)."""

from __future__ import annotations

import asyncio
import time

from vitalwatch.metrics import EVENT_LOOP_LAG

INTERVAL_S = 0.25


async def watch_lag() -> None:
    """Run for ever (cancelled at shutdown), observing each timer's lateness."""
    while True:
        due = time.perf_counter() + INTERVAL_S
        await asyncio.sleep(INTERVAL_S)
        EVENT_LOOP_LAG.observe(max(0.0, time.perf_counter() - due))
