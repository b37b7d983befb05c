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
from vitalwatch.sessions import repository as sessions_repo

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
            for d, s, at in await sessions_repo.binding_starts(conn, unknown):
                self._bound_at[(d, s)] = to_ms(at)
        return {d: (s, None if s is None else self._bound_at.get((d, s))) for d, s in bound.items()}

    async def sessions_for(
        self, conn: AsyncConnection, device: int, current: int, bound_at: int, ts_ms: I64
    ) -> I64:
        """The session of each sample of one device (the rare path: some were
        measured before its current binding)."""
        starts, sessions = await self._history(conn, device, current)
        out = np.full(ts_ms.shape[0], current, dtype=np.int64)
        early = ts_ms < bound_at
        if starts.size:
            i = np.searchsorted(starts, ts_ms, side="right") - 1  # last binding begun by then
            earlier = early & (i >= 0)
            out[earlier] = sessions[i[earlier]]
        return out

    async def _history(self, conn: AsyncConnection, device: int, current: int) -> tuple[I64, I64]:
        """(starts, sessions) of the device's bindings up to `current`, cached:
        a backlog replays many batches against the same history, and that
        history only grows by a new binding, which is a new key."""
        key = (device, current)
        found = self._histories.get(key)
        if found is None:
            rows = await sessions_repo.bindings_of_device(conn, device)
            found = (
                np.array([to_ms(at) for _, at in rows], dtype=np.int64),
                np.array([s for s, _ in rows], dtype=np.int64),
            )
            if len(self._histories) >= HISTORY_CACHE:
                self._histories.pop(next(iter(self._histories)))
            self._histories[key] = found
        return found

    @staticmethod
    async def note_late(conn: AsyncConnection, session_id: int, device_name: str, n: int) -> None:
        """On the earlier session's timeline: readings that arrived after it moved on."""
        await sessions_repo.note_on_timeline(
            conn,
            session_id,
            "late_readings",
            f"{n} readings from {device_name}, measured during this session, "
            "arrived after the monitor was bound to another session",
        )
