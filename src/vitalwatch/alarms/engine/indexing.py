"""Database ids (sessions, devices) to array rows, and the order of a batch."""

from __future__ import annotations

import numpy as np

from vitalwatch.alarms.engine.model import F64, I64


class IdIndex:
    """Rows of database ids (sessions, devices), looked up for a whole batch.

    Live ids are recent autoincrement keys, so usually compact: then a direct
    table (10,000 lookups: ~10 us) rather than a binary search (~700 us at
    10,000 sessions). Rebuilt lazily: sessions are added one at a time.
    """

    def __init__(self, rows: dict[int, int]) -> None:
        self._rows = rows  # id -> row, kept by the engine
        self._stale = True
        self._ids = np.empty(0, dtype=np.int64)  # sorted
        self._id_rows = np.empty(0, dtype=np.int64)
        self._base = 0
        self._table: I64 | None = None  # row of id `base + i`, -1: none

    def changed(self) -> None:
        self._stale = True

    def _rebuild(self) -> None:
        n = len(self._rows)
        self._ids = np.fromiter(sorted(self._rows), dtype=np.int64, count=n)
        self._id_rows = np.fromiter(
            (self._rows[i] for i in self._ids.tolist()), dtype=np.int64, count=n
        )
        self._table = None
        if n and int(self._ids[-1] - self._ids[0]) < 4 * n + 1024:
            self._base = int(self._ids[0])
            self._table = np.full(int(self._ids[-1]) - self._base + 1, -1, dtype=np.int64)
            self._table[self._ids - self._base] = self._id_rows
        self._stale = False

    def lookup(self, ids: I64) -> I64:
        """The row of each id; -1 for ids not in the index."""
        if self._stale:
            self._rebuild()
        if self._table is not None:
            rel = ids - self._base
            inside = (rel >= 0) & (rel < self._table.shape[0])
            return np.where(inside, self._table[np.where(inside, rel, 0)], -1)
        if self._ids.shape[0] == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._ids, ids), self._ids.shape[0] - 1)
        return np.where(self._ids[pos] == ids, self._id_rows[pos], -1)


def group_order(slot: I64, ts: F64, slots: int) -> I64:
    """The order of np.lexsort((ts, slot)): by session, then time, ties kept.

    Samples usually arrive in time order per device, so a stable sort on the
    slot alone is already that order; with fewer than 65,536 slots numpy
    sorts 16-bit keys by radix (20 us for 10,000 samples instead of 430 us
    for lexsort at 10,000 sessions). Checked, with lexsort as the fallback.
    """
    key = slot.astype(np.uint16) if slots <= 1 << 16 else slot
    order = np.argsort(key, kind="stable")
    s, t = slot[order], ts[order]
    if bool(np.any((t[1:] < t[:-1]) & (s[1:] == s[:-1]))):
        return np.lexsort((ts, slot))
    return order
