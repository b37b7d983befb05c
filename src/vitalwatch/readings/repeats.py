"""Which samples of a group commit repeat one already stored, and how.

A sample is a duplicate only when its device, seq, time *and values* match a
stored one (a retried batch): it is not stored again and is counted. The
same (device, seq, time) with other values is not a retry, and one row per
(device, ts, seq) is all the table keeps: the request that carries such a
sample is refused whole (`SampleConflict`, a 409 naming the sample and the
stored values), so a device is never told a value was stored that was not.

Only samples measured no later than the newest one stored for their device,
or repeating a key within the group, can be repeats: live traffic costs no
lookup and no Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from vitalwatch.readings import repository
from vitalwatch.samples import F64, I64
from vitalwatch.vitals import METRICS

#: A sample's values in METRICS order, None where not measured.
Cells = tuple[float | None, ...]
#: Stored rows looked up per statement.
_LOOKUP = 500


@dataclass(frozen=True, slots=True)
class Clash:
    """A sample that repeats a stored (device, seq, ts) with other values."""

    index: int  # the sample's place in its request
    seq: int
    ts_ms: int
    stored: Cells
    sent: Cells

    def differing(self) -> dict[str, tuple[float | None, float | None]]:
        """metric -> (stored, sent), for the metrics that differ."""
        return {
            m: (a, b) for m, a, b in zip(METRICS, self.stored, self.sent, strict=True) if a != b
        }


class SampleConflict(Exception):
    """A request repeats stored samples with other values: nothing of it is stored."""

    def __init__(self, clashes: Sequence[Clash]) -> None:
        super().__init__(f"{len(clashes)} samples conflict with stored ones")
        self.clashes = list(clashes)

    def encode(self) -> bytes:
        """The clashes as JSON: the cluster's owner process sends them to the
        process that answers the device."""
        return orjson.dumps([[c.index, c.seq, c.ts_ms, c.stored, c.sent] for c in self.clashes])

    @classmethod
    def decode(cls, data: bytes) -> SampleConflict:
        return cls([Clash(i, q, t, tuple(a), tuple(b)) for i, q, t, a, b in orjson.loads(data)])


@dataclass(frozen=True, slots=True)
class Sorted:
    """Per row of the group: whether it is stored now; per refused request
    (its position in the group), the samples that conflict."""

    keep: npt.NDArray[np.bool_]
    refused: dict[int, list[Clash]]


def cells(row: Sequence[float]) -> Cells:
    return tuple(None if v != v else float(v) for v in row)  # NaN != NaN: not measured


def _repeated_keys(device: I64, seq: I64, ts_ms: I64) -> npt.NDArray[np.bool_]:
    """Rows whose (device, ts, seq) another row of the group has too."""
    order = np.lexsort((seq, ts_ms, device))
    d, t, q = device[order], ts_ms[order], seq[order]
    same = (d[1:] == d[:-1]) & (t[1:] == t[:-1]) & (q[1:] == q[:-1])
    out = np.zeros(device.shape[0], dtype=bool)
    out[order[1:][same]] = True
    out[order[:-1][same]] = True
    return out


async def _stored(
    conn: AsyncConnection, device: I64, ts_ms: I64, rows: npt.NDArray[np.intp]
) -> dict[tuple[int, int, int], Cells]:
    """(device, ts, seq) -> stored values, for the devices and times of `rows`."""
    found: dict[tuple[int, int, int], Cells] = {}
    for d in np.unique(device[rows]).tolist():
        mine = rows[device[rows] == d]
        times = np.unique(ts_ms[mine])
        for part in np.array_split(times, times.shape[0] // _LOOKUP + 1):
            if part.size:
                found.update(await repository.stored_values(conn, d, part.tolist()))
    return found


async def sort_out(
    conn: AsyncConnection,
    device: I64,
    seq: I64,
    ts_ms: I64,
    values: F64,
    newest_ts: I64,
    sizes: Sequence[int],
) -> Sorted:
    """Decide every row of a group made of requests of `sizes` rows, in order:
    each request is judged against what is stored and what the requests
    before it in the group store (a refused one stores nothing)."""
    n = device.shape[0]
    keep = np.ones(n, dtype=bool)
    maybe_stored = ts_ms <= newest_ts
    suspects = maybe_stored | _repeated_keys(device, seq, ts_ms)
    if not suspects.any():
        return Sorted(keep, {})
    known = await _stored(conn, device, ts_ms, np.flatnonzero(maybe_stored))
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    refused: dict[int, list[Clash]] = {}
    rows = np.flatnonzero(suspects)
    for job in np.unique(owner[rows]).tolist():
        mine: dict[tuple[int, int, int], Cells] = {}
        clashes: list[Clash] = []
        for i in rows[owner[rows] == job].tolist():
            key = (int(device[i]), int(ts_ms[i]), int(seq[i]))
            sent = cells(values[i].tolist())
            have = mine.get(key) or known.get(key)
            if have is None:
                mine[key] = sent
            elif have == sent:
                keep[i] = False  # a duplicate: stored already (or earlier in the request)
            else:
                clashes.append(Clash(i - int(starts[job]), key[2], key[1], have, sent))
        if clashes:
            refused[job] = clashes
            keep[starts[job] : starts[job + 1]] = False
        else:
            known.update(mine)
    return Sorted(keep, refused)
