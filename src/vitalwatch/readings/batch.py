"""The samples one group commit stored: what the writer hands to its listeners
(alarm evaluation, latest values) and the repository writes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """The samples one group commit actually stored (duplicates left out)."""

    session_id: I64
    device_id: I64
    seq: I64
    ts_ms: I64
    values: F64  # (n, len(METRICS)), NaN = absent
    received_ms: int

    def __len__(self) -> int:
        return int(self.seq.shape[0])
