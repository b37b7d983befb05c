"""Which session a sample belongs to: the one its monitor was bound to when
it was measured, never simply the one it is bound to now.

A monitor re-bound to a new patient that retries a batch measured before
that binding must not file those samples under the new patient. Samples
measured before the device's current binding go to the session of the last
binding that began at or before their time (stored there, not evaluated
once that session has ended, and noted on its timeline). Samples dated
before the device's first binding ever (a simulator's or a backlog's
baseline readings) stay with the current session.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncConnection

from vitalwatch.db import to_ms
from vitalwatch.devices import repository as devices_repo

I64 = npt.NDArray[np.int64]

#: device -> (its active session, when that binding began in epoch ms)
Bindings = dict[int, tuple[int | None, int | None]]

#: devices whose binding history is kept (oldest dropped first)
HISTORY_CACHE = 4096


class Routes:
    """Device bindings, read in the transaction that stores (cached by binding:
    a binding's start never changes)."""

    def __init__(self) -> None:
        self._bound_at: dict[tuple[int, int], int] = {}
        self._histories: dict[tuple[int, int], tuple[I64, I64]] = {}

    async def current(self, conn: AsyncConnection, device_ids: set[int]) -> Bindings:
        bound = await devices_repo.sessions_of_devices(conn, device_ids)
        unknown = [
            (d, s) for d, s in bound.items() if s is not None and (d, s) not in self._bound_at
        ]
        if unknown:
            for d, s, at in await devices_repo.binding_starts(conn, unknown):
                self._bound_at[(d, s)] = to_ms(at)
        return {d: (s, None if s is None else self._bound_at.get((d, s))) for d, s in bound.items()}

    async def sessions(
        self, conn: AsyncConnection, routes: Bindings, device: I64, ts_ms: I64
    ) -> tuple[I64, dict[tuple[int, int], int]]:
        """The session of each sample of a batch (every device in it bound), and
        per (device, earlier session) how many samples went there.

        One pass over the batch: a sample goes to its device's current session
        unless measured after an earlier binding began and before the current
        one (the rare path, per device)."""
        ids = np.unique(device)
        where = np.searchsorted(ids, device)
        now_bound = np.array([routes[int(d)][0] for d in ids], dtype=np.int64)
        current = now_bound[where]
        bound_at = np.array([routes[int(d)][1] or 0 for d in ids], dtype=np.int64)[where]
        early = ts_ms < bound_at
        if not early.any():
            return current, {}
        out = current.copy()
        histories: dict[int, tuple[I64, I64]] = {}
        first = np.zeros(ids.shape[0], dtype=np.int64)
        for k in np.unique(where[early]).tolist():
            d = int(ids[k])
            histories[k] = await self._history(conn, d, int(now_bound[k]))
            starts = histories[k][0]
            first[k] = starts[0] if starts.size else np.iinfo(np.int64).max
        rare = early & (ts_ms >= first[where])  # measured during an earlier binding
        moved: dict[tuple[int, int], int] = {}
        for k in np.unique(where[rare]).tolist():
            starts, sessions = histories[k]
            rows = np.flatnonzero(rare & (where == k))
            filed = sessions[np.searchsorted(starts, ts_ms[rows], side="right") - 1]
            out[rows] = filed
            for s, n in zip(
                *np.unique(filed[filed != now_bound[k]], return_counts=True), strict=True
            ):
                moved[(int(ids[k]), int(s))] = int(n)
        return out, moved

    async def _history(self, conn: AsyncConnection, device: int, current: int) -> tuple[I64, I64]:
        """(starts, sessions) of the device's bindings up to `current`, cached:
        a backlog replays many batches against the same history, and that
        history only grows by a new binding, which is a new key."""
        key = (device, current)
        found = self._histories.get(key)
        if found is None:
            rows = await devices_repo.bindings_of_device(conn, device)
            found = (
                np.array([to_ms(at) for _, at in rows], dtype=np.int64),
                np.array([s for s, _ in rows], dtype=np.int64),
            )
            if len(self._histories) >= HISTORY_CACHE:
                self._histories.pop(next(iter(self._histories)))
            self._histories[key] = found
        return found
