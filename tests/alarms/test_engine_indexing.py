"""The engine's batch lookups give what the plain versions give, on both paths."""

from __future__ import annotations

import numpy as np
import pytest

from vitalwatch.alarms.engine.indexing import IdIndex as _IdIndex
from vitalwatch.alarms.engine.indexing import group_order as _group_order


@pytest.mark.parametrize("spread", [1, 1_000_000], ids=["compact ids", "sparse ids"])
def test_id_index_matches_a_dict(spread: int) -> None:
    rng = np.random.default_rng(spread)
    ids = rng.choice(200 * spread, size=200, replace=False).astype(np.int64) + 7
    rows = {int(i): k for k, i in enumerate(ids.tolist())}
    index = _IdIndex(rows)
    probe = np.concatenate([ids, ids + 1, np.array([-5, 0, 10**12], dtype=np.int64)])
    assert index.lookup(probe).tolist() == [rows.get(int(i), -1) for i in probe.tolist()]
    del rows[int(ids[0])]
    index.changed()
    assert index.lookup(ids[:1]).tolist() == [-1]


@pytest.mark.parametrize("in_time_order", [True, False])
@pytest.mark.parametrize("slots", [10, 70_000])
def test_group_order_is_lexsort(in_time_order: bool, slots: int) -> None:
    rng = np.random.default_rng(slots)
    slot = rng.integers(0, slots, 5_000).astype(np.int64)
    ts = np.sort(rng.integers(0, 1_000, 5_000)).astype(np.float64)  # ties included
    if not in_time_order:
        ts = ts[::-1].copy()
    assert np.array_equal(_group_order(slot, ts, slots), np.lexsort((ts, slot)))
