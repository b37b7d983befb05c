"""Garbage-collector settings for a service that must answer within 50 ms.

CPython's full (oldest-generation) collection stops the process while it
walks every tracked object. At 1,000 rooms and 200 dashboards that is about
250,000 objects and 120-160 ms on the project's machine, every ~10 s: an
alarm raised then reached the nurses 150 ms late (docs/performance.md,
"Alarm latency"). Two changes, both standard for long-running services:

- `gc.freeze()` once started: what import and startup built (modules,
  classes, schemas; ~150,000 objects) lives as long as the process, so the
  collector stops walking it. Full collections drop to 20-40 ms.
- A young generation of 50,000 allocations instead of 700: request and
  frame objects die before they are collected at all, so far fewer survive
  into the older generations and full collections become rare (none in a
  several-minute benchmark run, against one every ~10 s).

Cyclic garbage is still collected, only later; the memory benchmark
(bench/memory.py) measures what that costs.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


def settle_after_startup() -> None:
    """Collect what startup left behind, then exempt the rest from collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
