"""Samples as columns, in the two shapes they have: one device's samples as
validated (`SampleColumns`: the readings API, HL7, manual entry, the
cluster's forwarding), and a stored batch of many devices and sessions
(`SampleBatch`): what the ingest writer stores and hands to its listeners
(alarm evaluation, latest values), what replay and resync read back, and
what the alarm engine takes. Times are epoch milliseconds, as readings keep
them; the engine converts to its float seconds once, on entry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SampleColumns:
    """One request's samples as columns (row i = sample i of the request)."""

    seq: I64
    ts_ms: I64
    values: F64  # shape (n, len(METRICS)), NaN = absent

    def __len__(self) -> int:
        return int(self.seq.shape[0])


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """Samples one group commit stored (duplicates left out), or a stretch of
    stored history read back; `received_ms` is when the service got them."""

    session_id: I64
    device_id: I64
    seq: I64
    ts_ms: I64
    values: F64  # (n, len(METRICS)), NaN = absent
    received_ms: int

    def __len__(self) -> int:
        return int(self.seq.shape[0])
