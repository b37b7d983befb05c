"""Min/max-preserving downsampling for trend charts.

Each bucket keeps its lowest and highest sample in time order, so a 10-s
desaturation in a 3-h trend stays visible instead of being averaged away.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def minmax_downsample(
    ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64], max_points: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """At most `max_points` samples (>= 2), keeping each bucket's extremes."""
    n = ts.shape[0]
    if n <= max_points:
        return ts, values
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    starts = edges[:-1]
    lo = np.minimum.reduceat(values, starts)
    hi = np.maximum.reduceat(values, starts)
    idx = np.arange(n)
    bucket_of = np.repeat(np.arange(buckets), np.diff(edges))
    # first index in each bucket holding the bucket's min / max
    is_lo = values == lo[bucket_of]
    is_hi = values == hi[bucket_of]
    big = n + 1
    lo_idx = np.minimum.reduceat(np.where(is_lo, idx, big), starts)
    hi_idx = np.minimum.reduceat(np.where(is_hi, idx, big), starts)
    keep = np.unique(np.concatenate([lo_idx, hi_idx]))
    return ts[keep], values[keep]
