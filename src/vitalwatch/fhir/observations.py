"""The Observation search: vital signs in force and the nurses' scored
observations of a patient's or an encounter's sessions, in time order
(`_sort=date`), paged with an opaque cursor over both."""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.auth.models import User
from vitalwatch.db import from_ms, to_ms
from vitalwatch.fhir import repository, resources
from vitalwatch.fhir.codes import ALL, NURSING, VITALS, Kind, kinds_for, kinds_in
from vitalwatch.fhir.params import FhirError, Query, bundle, int_id, one_of, reference, window
from vitalwatch.sessions.models import Session

SUPPORTED = {
    "patient": None,
    "encounter": None,
    "category": None,
    "code": None,
    "date": None,
    "_count": None,
    "_sort": one_of("date"),
    "_summary": one_of("count"),
    "_cursor": None,
}
_LAST = 2**62

#: an entry's place in the export: (ts_ms, 0 reading | 1 observation, row id, kind index)
Key = tuple[int, int, int, int]
#: an entry before it is built: (key, kind, reading row | nurse's observation)
Entry = tuple[Key, Kind, Any]


@dataclass(frozen=True)
class Cursor:
    key: Key

    @classmethod
    def parse(cls, value: str | None) -> Cursor:
        if value is None:
            return cls((0, 0, 0, 0))  # nothing is older than the epoch
        try:
            ts, src, row, k = (int(p) for p in value.split("."))
        except ValueError:
            raise FhirError(400, "invalid", "_cursor: use the next link as it is") from None
        return cls((ts, src, row, k))

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.key)


def _tokens(values: list[str]) -> list[str]:
    return [t for v in values for t in v.split(",") if t]


def _wanted(q: Query) -> set[str]:
    wanted = set(ALL)
    for values, finder in ((q.all("code"), kinds_for), (q.all("category"), kinds_in)):
        for param in values:  # repeated parameters: all must hold; a comma: any
            wanted &= set().union(*(finder(t) for t in _tokens([param])))
    return wanted


async def _sessions(db: AsyncSession, q: Query) -> dict[int, Session]:
    patient = q.first("patient")
    encounters = [
        {reference("encounter", t, "Encounter") for t in _tokens([v])} for v in q.all("encounter")
    ]
    if patient is None and not encounters:
        raise FhirError(
            400, "required", "patient or encounter is required (Observation?encounter=Encounter/7)"
        )
    if patient is not None:
        sessions = await repository.sessions_of(db, reference("patient", patient, "Patient"))
    else:
        sessions = await repository.sessions_by_ids(db, set().union(*encounters))
    for ids in encounters:
        sessions = {sid: s for sid, s in sessions.items() if sid in ids}
    return sessions


async def search(db: AsyncSession, base: str, q: Query) -> dict[str, Any]:
    count = q.count()
    sessions = await _sessions(db, q)
    ids = list(sessions)
    wanted = _wanted(q)
    vitals = [(i, k) for i, k in enumerate(VITALS) if k.key in wanted]
    nursing = [(i, k) for i, k in enumerate(NURSING) if k.key in wanted]
    columns = sorted({k.column or "" for _, k in vitals})
    obs_cols = [k.column or "" for _, k in nursing]
    lo, hi = window(q.all("date"))
    lo_ms, hi_ms = (to_ms(lo) if lo else None), (to_ms(hi) if hi else None)
    cursor_value = q.first("_cursor")
    total = None  # on the first page (Bundle.total is optional: counting each page costs)
    if cursor_value is None:
        total = 0
        if ids and vitals:
            counts = await repository.count_values(db, ids, columns, lo_ms, hi_ms)
            total += sum(counts["sbp" if k.key == "bp" else k.column or ""] for _, k in vitals)
        if ids and nursing:
            total += await repository.count_observations(db, ids, obs_cols, lo, hi)
    cursor = Cursor.parse(cursor_value)
    if count == 0 or not ids:
        return bundle(base, "Observation", q, total, [])
    ts, src, row_id, _ = cursor.key
    found: list[Entry] = []
    bound: Key = (_LAST, 0, 0, 0)
    if vitals:
        after = (ts, row_id) if src == 0 else (ts + 1, 0)
        more, edge = await _vital_entries(
            db, ids, vitals, columns, lo_ms, hi_ms, after, cursor, count
        )
        found += more
        bound = min(bound, edge)
    if nursing:
        since = from_ms(max(ts - 1, 0))  # a millisecond early: the key says the rest
        batch = await repository.observations_after(db, ids, obs_cols, lo, hi, since, count + 1)
        for obs in batch:
            for i, kind in nursing:
                key = (to_ms(obs.ts), 1, obs.id, i)
                if key >= cursor.key and getattr(obs, kind.column or "") is not None:
                    found.append((key, kind, obs))
        if len(batch) == count + 1:
            last = batch[-1]
            bound = min(bound, (to_ms(last.ts), 1, last.id, len(NURSING)))
    ready = sorted((e for e in found if e[0] <= bound), key=itemgetter(0))
    page = ready[:count]
    following: Key | None = None
    if len(ready) > count:
        following = ready[count][0]
    elif bound[0] != _LAST:
        following = (bound[0], bound[1], bound[2] + 1, 0)
    authors = await repository.users_by_names(db, (e[2].created_by for e in page if e[0][1]))
    built = [_build(entry, sessions, authors) for entry in page]
    nxt = str(Cursor(following)) if following is not None else None
    return bundle(base, "Observation", q, total, built, nxt)


async def _vital_entries(
    db: AsyncSession,
    ids: list[int],
    vitals: list[tuple[int, Kind]],
    columns: list[str],
    lo_ms: int | None,
    hi_ms: int | None,
    after: tuple[int, int],
    cursor: Cursor,
    count: int,
) -> tuple[list[Entry], Key]:
    """At least count + 1 entries from the cursor on (or all that are left), read in
    chunks of rows (a row holds several values), and the key up to which they are
    complete."""
    found: list[Entry] = []
    chunk = count // len(vitals) + 2
    while True:
        rows = await repository.readings_after(db, ids, columns, lo_ms, hi_ms, after, chunk)
        for row in rows:
            for i, kind in vitals:
                key = (row["ts_ms"], 0, row["id"], i)
                if key >= cursor.key and resources.present(kind, row):
                    found.append((key, kind, row))
        if len(rows) < chunk:
            return found, (_LAST, 0, 0, 0)
        last = rows[-1]
        if len(found) > count:
            return found, (last["ts_ms"], 0, last["id"], len(VITALS))
        after = (last["ts_ms"], last["id"] + 1)
        chunk = count + 1 - len(found) + 1


def _build(entry: Entry, sessions: dict[int, Session], authors: dict[str, User]) -> dict[str, Any]:
    (_, source, _, _), kind, item = entry
    if source == 0:
        return resources.vital(kind, item, sessions[item["session_id"]])
    author = authors.get(item.created_by) if item.created_by else None
    return resources.nursing(kind, item, sessions[item.session_id], author)


async def read(db: AsyncSession, observation_id: str) -> dict[str, Any]:
    source, _, key = observation_id.partition("-")
    kind: Kind | None = ALL.get(key)
    missing = FhirError(404, "not-found", f"Observation/{observation_id} not found")
    if kind is None or len(source) < 2 or source[0] not in "ro":
        raise missing
    row_id = int_id(source[1:], "Observation")
    if source[0] == "r" and kind in VITALS:
        row = await repository.reading(db, row_id)
        sessions = await repository.sessions_by_ids(db, [row["session_id"]]) if row else {}
        if row is not None and sessions and resources.present(kind, row):
            return resources.vital(kind, row, sessions[row["session_id"]])
    elif source[0] == "o" and kind in NURSING:
        obs = await repository.observation(db, row_id)
        sessions = await repository.sessions_by_ids(db, [obs.session_id]) if obs else {}
        if obs is not None and sessions and getattr(obs, kind.column or "") is not None:
            authors = await repository.users_by_names(db, [obs.created_by])
            author = authors.get(obs.created_by) if obs.created_by else None
            return resources.nursing(kind, obs, sessions[obs.session_id], author)
    raise missing
