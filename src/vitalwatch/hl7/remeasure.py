"""Re-measurements: an ORU^R01 value at an observation time the monitor already
has a stored value of the same metric for, with another value, and not sent as
a correction (OBX-11 C). Its seq may differ from the stored one's (a new
control id), so the writer's duplicate check would store it beside the first:
two heart rates at one instant, and the record would not say which is true.
The message is refused whole (AE naming the time and both values), as the JSON
route refuses a conflicting repeat.

Live traffic costs nothing: only a message measured no later than the newest
observation this listener stored for the device (or the device's first
message since the listener started) is looked up."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.db import from_ms
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.repeats import Cells, Clash, SampleConflict, cells
from vitalwatch.samples import SampleColumns
from vitalwatch.vitals import METRIC_INFO, METRICS


class Remeasurements:
    """The newest stored observation time per device, and the look-up."""

    def __init__(self) -> None:
        self._newest: dict[int, int] = {}

    def may_repeat(self, device_id: int, columns: SampleColumns) -> bool:
        newest = self._newest.get(device_id)
        return newest is None or int(columns.ts_ms.min()) <= newest

    def stored(self, device_id: int, columns: SampleColumns) -> None:
        """Note a message's samples as stored (after its AA)."""
        newest = max(int(columns.ts_ms.max()), self._newest.get(device_id, 0))
        self._newest[device_id] = newest

    async def check(
        self,
        db: AsyncSession,
        device_id: int,
        columns: SampleColumns,
        corrected: Iterable[tuple[str, int]],
    ) -> None:
        """Raise SampleConflict when a value re-measures a stored one; `corrected`:
        the (metric, ts) the message corrects, which may differ."""
        times = sorted({int(t) for t in columns.ts_ms})
        conn = await db.connection()
        found = await readings_repo.stored_values(conn, device_id, times)
        by_time: dict[int, list[tuple[int, Cells]]] = {}
        for (_, ts, seq), values in found.items():
            by_time.setdefault(ts, []).append((seq, values))
        skip = set(corrected)
        clashes = []
        seqs, stamps = columns.seq.tolist(), columns.ts_ms.tolist()
        for i, (seq, ts) in enumerate(zip(seqs, stamps, strict=True)):
            sent = cells(columns.values[i].tolist())
            for _, have in by_time.get(int(ts), []):
                if any(
                    a is not None and b is not None and a != b and (m, ts) not in skip
                    for m, a, b in zip(METRICS, have, sent, strict=True)
                ):
                    clashes.append(Clash(i, int(seq), int(ts), have, sent))
                    break
        if clashes:
            raise SampleConflict(clashes)


def worded(exc: SampleConflict) -> str:
    """The AE text: each clash's time (UTC) and the values that differ."""
    parts = []
    for c in exc.clashes[:5]:
        at = from_ms(c.ts_ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        differ = ", ".join(
            f"{METRIC_INFO[m].label} {_v(b, m)} sent, {_v(a, m)} stored"
            for m, (a, b) in c.differing().items()
        )
        parts.append(f"observation time {at}: {differ}")
    more = f" (and {len(exc.clashes) - 5} more)" if len(exc.clashes) > 5 else ""
    return (
        "re-measurement of stored values (same observation time, other values; a "
        f"correction is sent as OBX-11 C): {'; '.join(parts)}{more}; "
        "nothing of this message was stored"
    )


def _v(value: float | None, metric: str) -> str:
    if value is None:
        return "none"
    unit = METRIC_INFO[metric].unit
    return f"{value:g}{unit}" if unit[0] in "/%" else f"{value:g} {unit}"
