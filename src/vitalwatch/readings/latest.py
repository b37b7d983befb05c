"""The latest value of every metric of every session, kept in memory.

Fed by each group commit, read by session views and the dashboards' `vitals`
frames, so neither needs a query per session. A session not yet seen since
start is loaded once from the database; an ended session is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vitalwatch.db import from_ms
from vitalwatch.readings import repository
from vitalwatch.readings.news2 import news2
from vitalwatch.samples import SampleBatch
from vitalwatch.vitals import METRICS

Latest = dict[str, tuple[float, int]]  # metric -> (value, ts_ms)
Update = tuple[int, str, float, int]  # session, metric, value, ts_ms


def newest_values(batch: SampleBatch) -> list[Update]:
    """The newest sample of each session and metric in a stored batch."""
    order = np.lexsort((batch.ts_ms, batch.session_id))
    sessions = batch.session_id[order]
    ts = batch.ts_ms[order]
    values = batch.values[order]
    out: list[Update] = []
    for j, metric in enumerate(METRICS):
        present = ~np.isnan(values[:, j])
        if not present.any():
            continue
        s, t, v = sessions[present], ts[present], values[present, j]
        last = np.flatnonzero(np.append(s[1:] != s[:-1], True))
        out.extend(
            (sid, metric, val, tsm)
            for sid, tsm, val in zip(
                s[last].tolist(), t[last].tolist(), v[last].tolist(), strict=True
            )
        )
    return out


def _iso(ms: int) -> str:
    return from_ms(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def vitals_item(session_id: int, latest: Latest) -> dict[str, Any]:
    """One session's latest values as a `vitals` item (with per-metric times)."""
    item: dict[str, Any] = {"session_id": session_id}
    newest = max(t for _, t in latest.values())
    item["ts"] = _iso(newest)
    item["ts_ms"] = newest
    item["metric_ts"] = {m: _iso(t) for m, (_, t) in latest.items()}
    for metric, (value, _) in latest.items():
        item[metric] = value
    score = news2(hr=item.get("hr"), sbp=item.get("sbp"), rr=item.get("rr"), spo2=item.get("spo2"))
    item["news2"] = (
        None
        if score is None
        else {
            "score": score.score,
            "level": score.level,
            "any_three": score.any_three,
            "missing": list(score.missing),
        }
    )
    return item


class LatestStore:
    def __init__(self) -> None:
        self._latest: dict[int, Latest] = {}
        self._loaded: set[int] = set()
        self._dirty: set[int] = set()

    def update(self, batch: SampleBatch) -> None:
        """Take the newest sample per session and metric from a stored batch."""
        self.apply(newest_values(batch))

    def apply(self, updates: Iterable[Update]) -> None:
        """Merge (session, metric, value, ts_ms) updates; older values never win."""
        for sid, metric, value, ts_ms in updates:
            self._set(sid, metric, value, ts_ms)

    # IngestListener: the latest values change once a group commit is durable.
    async def before_commit(self, conn: AsyncConnection, batch: SampleBatch) -> None:
        return None

    async def after_commit(self, batch: SampleBatch) -> None:
        self.update(batch)

    async def after_rollback(self) -> None:
        return None

    def _set(self, session_id: int, metric: str, value: float, ts_ms: int) -> None:
        current = self._latest.setdefault(session_id, {})
        old = current.get(metric)
        if old is None or ts_ms >= old[1]:
            current[metric] = (value, ts_ms)
            self._dirty.add(session_id)

    def get(self, session_id: int) -> Latest:
        return dict(self._latest.get(session_id, {}))

    def take_dirty(self) -> list[tuple[int, Latest]]:
        """Sessions changed since the previous call, with their latest values."""
        dirty, self._dirty = self._dirty, set()
        return [(sid, dict(self._latest[sid])) for sid in sorted(dirty)]

    def take_items(self) -> list[dict[str, Any]]:
        """Sessions changed since the previous take, as the dashboards' `vitals` items."""
        return [vitals_item(sid, latest) for sid, latest in self.take_dirty() if latest]

    def forget(self, session_id: int) -> None:
        self._latest.pop(session_id, None)
        self._loaded.discard(session_id)
        self._dirty.discard(session_id)

    async def ensure_loaded(self, db: AsyncSession, session_ids: Iterable[int]) -> None:
        """Load sessions not seen since start from the database (one index walk
        per session and metric, 50 sessions a statement: the repository's)."""
        todo = [sid for sid in dict.fromkeys(session_ids) if sid not in self._loaded]
        for sid, metric, value, ts_ms in await repository.newest_of_sessions(db, todo):
            self._merge(sid, metric, value, ts_ms)
        self._loaded.update(todo)

    def _merge(self, session_id: int, metric: str, value: float, ts_ms: int) -> None:
        """A value read from the database; one that arrived meanwhile may be newer."""
        current = self._latest.setdefault(session_id, {})
        old = current.get(metric)
        if old is None or ts_ms > old[1]:
            current[metric] = (value, ts_ms)
