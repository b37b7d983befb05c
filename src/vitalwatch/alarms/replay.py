"""Stored history cut into the batches that rebuild a partition's alarm state.

The engine's cost is per call: at 1,000 rooms a replay of one group commit at
a time (tens of samples each) ran at a few thousand samples a second, so a
takeover of 20 minutes of history outlasted the partition lease. Replayed
here: the last `EXACT_S` as the original commits, each with its own receive
time (the technical alarms judge devices by when they were last heard, and
that stretch holds every device's newest sample that still matters: one
silent for longer is offline already, an alarm restored from storage);
before it, consecutive commits received within `MERGE_SPAN_MS` of each other
as one batch of at most `MERGE_ROWS` samples. A merged sample's receive time
is its batch's last, at most `MERGE_SPAN_MS` later than it was; of the older
samples only a BP reading keeps its receive time (the cuff's service clock),
so a BP-overdue reminder after a takeover comes at most that much later.
Measurement times and values are never changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import numpy as np
import numpy.typing as npt

from vitalwatch.alarms.engine.technical import OFFLINE_AFTER_S
from vitalwatch.samples import SampleBatch

EXACT_S: Final = 2 * OFFLINE_AFTER_S
MERGE_SPAN_MS: Final = 5_000
MERGE_ROWS: Final = 20_000


def batches(table: npt.NDArray[np.float64], now_ms: int) -> Iterator[SampleBatch]:
    """`table`: rows in commit order with the columns session, device, seq, ts_ms,
    received_ms, then the metrics (readings.repository.recent_rows)."""
    if table.shape[0] == 0:
        return
    received = table[:, 4].astype(np.int64)
    # commit k is rows bounds[k]:bounds[k + 1]
    bounds = np.r_[0, np.flatnonzero(received[1:] != received[:-1]) + 1, received.shape[0]]
    exact_from = now_ms - int(EXACT_S * 1000)
    commits = bounds.shape[0] - 1
    start = 0
    for k in range(commits):
        end = int(bounds[k + 1])
        if (
            k + 1 == commits
            or received[end - 1] >= exact_from
            or received[end] >= exact_from
            or received[end] - received[start] > MERGE_SPAN_MS
            or int(bounds[k + 2]) - start > MERGE_ROWS
        ):
            yield _batch(table[start:end], int(received[start:end].max()))
            start = end


def _batch(t: npt.NDArray[np.float64], received_ms: int) -> SampleBatch:
    return SampleBatch(
        session_id=t[:, 0].astype(np.int64),
        device_id=t[:, 1].astype(np.int64),
        seq=t[:, 2].astype(np.int64),
        ts_ms=t[:, 3].astype(np.int64),
        values=np.ascontiguousarray(t[:, 5:]),
        received_ms=received_ms,
    )
