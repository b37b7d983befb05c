"""Each device's counter: retries are duplicates, a restarted counter is not.

A sample is a duplicate only when its (device, seq, ts) is stored already
with the same values (repeats.py): a device that retries a batch sends the
same seq with the same measurement time. A monitor that reboots starts
`seq` again from 0 with new times: those samples are kept (every one of
them), and the restart is counted on the device and logged. Only samples
measured no later than the newest one stored for the device can be
duplicates, so live traffic costs no lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncConnection

from vitalwatch.readings import repository

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Latest:
    """The newest stored sample of a device: its seq and measurement time."""

    seq: int
    ts_ms: int


_NONE = Latest(-1, -(2**62))


class DeviceCounters:
    """The newest stored sample per device, cached (rows are only ever added)."""

    def __init__(self) -> None:
        self._latest: dict[int, Latest] = {}
        self._pending: dict[int, Latest] = {}

    async def load(self, conn: AsyncConnection, devices: list[int]) -> None:
        """Read the devices first seen by this writer (an index seek each)."""
        for d in devices:
            if d in self._latest:
                continue
            row = await repository.newest_of_device(conn, d)
            self._latest[d] = _NONE if row is None else Latest(*row)

    def newest_ts(self, device: I64) -> I64:
        """Per sample: the newest measurement time stored for its device."""
        return np.array([self._latest[d].ts_ms for d in device.tolist()], dtype=np.int64)

    def stored(self, device: I64, seq: I64, ts_ms: I64) -> list[int]:
        """Samples now stored (in this transaction): the devices whose counter
        went back while time went forward, once per device and batch."""
        order = np.lexsort((seq, ts_ms, device))
        d, q, t = device[order], seq[order], ts_ms[order]
        first = np.ones(d.shape[0], dtype=bool)
        first[1:] = d[1:] != d[:-1]
        prev_q = np.empty_like(q)
        prev_q[1:] = q[:-1]
        prev_t = np.empty_like(t)
        prev_t[1:] = t[:-1]
        for i in np.flatnonzero(first).tolist():
            latest = self._pending.get(int(d[i])) or self._latest.get(int(d[i]), _NONE)
            prev_q[i], prev_t[i] = latest.seq, latest.ts_ms
        went_back: B = (q < prev_q) & (t > prev_t)
        last = np.ones(d.shape[0], dtype=bool)
        last[:-1] = d[1:] != d[:-1]
        for i in np.flatnonzero(last).tolist():
            now = self._pending.get(int(d[i])) or self._latest.get(int(d[i]), _NONE)
            if t[i] >= now.ts_ms:
                self._pending[int(d[i])] = Latest(int(q[i]), int(t[i]))
        return sorted(set(d[went_back].tolist()))

    def forget(self, devices: list[int]) -> None:
        """Read these devices again next time (another writer stored rows for them)."""
        for d in devices:
            self._latest.pop(d, None)

    def commit(self) -> None:
        self._latest.update(self._pending)
        self._pending = {}

    def rollback(self) -> None:
        self._pending = {}
