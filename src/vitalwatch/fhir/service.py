"""The FHIR R4 read API: Patient and Encounter reads, and the Observation search
as searchset Bundles paged with an opaque cursor (vital signs in time order,
then the nurses' scored observations in the order entered)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.db import to_ms
from vitalwatch.fhir import repository, resources
from vitalwatch.fhir.codes import ALL, NURSING, VITALS, Kind, kinds_for
from vitalwatch.patients import repository as patients_repo
from vitalwatch.records.models import Observation as NurseObservation
from vitalwatch.sessions import repository as sessions_repo

#: ids are ASCII digits (str.isdigit() also takes "³", which int() refuses)
_DIGITS = re.compile(r"[0-9]{1,19}")
DEFAULT_COUNT = 50
MAX_COUNT = 500


class FhirError(Exception):
    """Answered as an OperationOutcome with this HTTP status."""

    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.status, self.code, self.text = status, code, text

    def outcome(self) -> dict[str, Any]:
        return {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": self.code, "diagnostics": self.text}],
        }


def _int_id(value: str, what: str) -> int:
    if not _DIGITS.fullmatch(value) or not 0 < int(value) < 2**63:
        raise FhirError(404, "not-found", f"{what}/{value} not found")
    return int(value)


async def read_patient(db: AsyncSession, patient_id: str) -> dict[str, Any]:
    patient = await patients_repo.get(db, _int_id(patient_id, "Patient"))
    if patient is None:
        raise FhirError(404, "not-found", f"Patient/{patient_id} not found")
    return resources.patient(patient)


async def read_encounter(db: AsyncSession, encounter_id: str) -> dict[str, Any]:
    session = await sessions_repo.get(db, _int_id(encounter_id, "Encounter"))
    if session is None:
        raise FhirError(404, "not-found", f"Encounter/{encounter_id} not found")
    return resources.encounter(session)


async def read_observation(db: AsyncSession, observation_id: str) -> dict[str, Any]:
    source, _, key = observation_id.partition("-")
    kind = ALL.get(key)
    if kind is None or len(source) < 2 or source[0] not in "ro":
        raise FhirError(404, "not-found", f"Observation/{observation_id} not found")
    row_id = _int_id(source[1:], "Observation")
    if source[0] == "r" and kind in VITALS:
        row = await repository.reading(db, row_id)
        session = await sessions_repo.get(db, row["session_id"]) if row else None
        if row is not None and session is not None and _present(kind, row):
            return resources.vital(kind, row["id"], session, row["ts_ms"], row)
    elif source[0] == "o" and kind in NURSING:
        obs = await db.get(NurseObservation, row_id)
        session = await sessions_repo.get(db, obs.session_id) if obs else None
        if obs is not None and session is not None and getattr(obs, kind.column or "") is not None:
            return resources.nursing(kind, obs, session)
    raise FhirError(404, "not-found", f"Observation/{observation_id} not found")


def _present(kind: Kind, row: dict[str, Any]) -> bool:
    if kind.key == "bp":
        return row["sbp"] is not None and row["dbp"] is not None
    return row[kind.column or ""] is not None


def _bound(param: str) -> tuple[str, datetime, datetime]:
    """A date parameter: its prefix and the first and last instant its value covers."""
    prefix, value = (
        (param[:2], param[2:]) if param[:2] in ("eq", "ge", "gt", "le", "lt") else ("eq", param)
    )
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            first = datetime.combine(d, time(0), tzinfo=UTC)
            return prefix, first, first + timedelta(days=1) - timedelta(milliseconds=1)
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(
            400, "invalid", f"date={param}: a date or dateTime with a prefix (ge, le ...)"
        ) from None
    if t.tzinfo is None:
        raise FhirError(400, "invalid", f"date={param}: a dateTime needs a time zone")
    return prefix, t, t


def _window(dates: list[str]) -> tuple[datetime | None, datetime | None]:
    lo: datetime | None = None
    hi: datetime | None = None
    for param in dates:
        prefix, first, last = _bound(param)
        one_ms = timedelta(milliseconds=1)
        new_lo = {"eq": first, "ge": first, "gt": last + one_ms}.get(prefix)
        new_hi = {"eq": last, "le": last, "lt": first - one_ms}.get(prefix)
        if new_lo is not None:
            lo = new_lo if lo is None else max(lo, new_lo)
        if new_hi is not None:
            hi = new_hi if hi is None else min(hi, new_hi)
    return lo, hi


@dataclass
class Cursor:
    phase: str  # "v": vital signs, "o": nurses' observations
    ts: int
    row: int
    k: int

    @classmethod
    def parse(cls, value: str | None) -> Cursor:
        if value is None:
            return cls("v", -(2**62), 0, 0)
        try:
            phase, ts, row, k = value.split(".")
            assert phase in ("v", "o")
            return cls(phase, int(ts), int(row), int(k))
        except (ValueError, AssertionError):
            raise FhirError(400, "invalid", "_cursor: use the next link as it is") from None

    def __str__(self) -> str:
        return f"{self.phase}.{self.ts}.{self.row}.{self.k}"


def _patient_id(value: str) -> int:
    ref = value.removeprefix("Patient/")
    if not _DIGITS.fullmatch(ref) or not 0 < int(ref) < 2**63:
        raise FhirError(400, "invalid", "patient: a Patient id, as Patient/12 or 12")
    return int(ref)


async def search_observations(
    db: AsyncSession,
    base: str,
    patient: str | None,
    codes: list[str],
    dates: list[str],
    count: int | None,
    cursor_value: str | None,
) -> dict[str, Any]:
    if patient is None:
        raise FhirError(400, "required", "patient is required (Observation?patient=Patient/12)")
    pid = _patient_id(patient)
    count = DEFAULT_COUNT if count is None else max(1, min(count, MAX_COUNT))
    tokens = [t for c in codes for t in c.split(",") if t]
    wanted = set().union(*(kinds_for(t) for t in tokens)) if tokens else set(ALL)
    vitals = [(i, k) for i, k in enumerate(VITALS) if k.key in wanted]
    nursing = [(i, k) for i, k in enumerate(NURSING) if k.key in wanted]
    lo, hi = _window(dates)
    lo_ms = to_ms(lo) if lo else None
    hi_ms = to_ms(hi) if hi else None
    sessions = await repository.sessions_of(db, pid)
    ids = list(sessions)
    cursor = Cursor.parse(cursor_value)
    entries: list[dict[str, Any]] = []
    following: Cursor | None = None
    columns = sorted({k.column or "" for _, k in vitals})
    if ids and cursor.phase == "v" and vitals:
        rows = await repository.readings_after(
            db, ids, columns, lo_ms, hi_ms, (cursor.ts, cursor.row), count + 1
        )
        for row in rows:
            for i, kind in vitals:
                if (row["ts_ms"], row["id"]) == (cursor.ts, cursor.row) and i < cursor.k:
                    continue
                if not _present(kind, row):
                    continue
                if len(entries) == count:
                    following = Cursor("v", row["ts_ms"], row["id"], i)
                    break
                entries.append(
                    resources.vital(kind, row["id"], sessions[row["session_id"]], row["ts_ms"], row)
                )
            if following:
                break
        if following is None and len(rows) == count + 1:
            last = rows[-1]
            following = Cursor("v", last["ts_ms"], last["id"] + 1, 0)
        if following is None:
            cursor = Cursor("o", 0, 0, 0)
    if ids and following is None and cursor.phase == "o" and nursing and len(entries) <= count:
        cols = [k.column or "" for _, k in nursing]
        room = count - len(entries)
        for obs in await repository.observations_after(db, ids, cols, lo, hi, cursor.row, room + 1):
            for i, kind in nursing:
                if obs.id == cursor.row and i < cursor.k:
                    continue
                if getattr(obs, kind.column or "") is None:
                    continue
                if len(entries) == count:
                    following = Cursor("o", 0, obs.id, i)
                    break
                entries.append(resources.nursing(kind, obs, sessions[obs.session_id]))
            if following:
                break
    total = 0
    if ids:
        counts = await repository.count_values(db, ids, columns, lo_ms, hi_ms) if vitals else {}
        total = sum(counts.get("sbp" if k.key == "bp" else k.column or "", 0) for _, k in vitals)
        total += await repository.count_observations(
            db, ids, [k.column or "" for _, k in nursing], lo, hi
        )
    params: list[tuple[str, str]] = [
        ("patient", patient),
        *(("code", c) for c in codes),
        *(("date", d) for d in dates),
        ("_count", str(count)),
    ]
    this = params + ([("_cursor", cursor_value)] if cursor_value else [])
    links = [{"relation": "self", "url": f"{base}/Observation?{urlencode(this)}"}]
    if following is not None:
        links.append(
            {
                "relation": "next",
                "url": f"{base}/Observation?{urlencode([*params, ('_cursor', str(following))])}",
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {"fullUrl": f"{base}/Observation/{e['id']}", "resource": e, "search": {"mode": "match"}}
            for e in entries
        ],
    }


async def search_encounters(db: AsyncSession, base: str, patient: str | None) -> dict[str, Any]:
    if patient is None:
        raise FhirError(400, "required", "patient is required (Encounter?patient=Patient/12)")
    sessions = sorted(
        (await repository.sessions_of(db, _patient_id(patient))).values(), key=lambda s: s.id
    )
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(sessions),
        "link": [
            {"relation": "self", "url": f"{base}/Encounter?{urlencode({'patient': patient})}"}
        ],
        "entry": [
            {
                "fullUrl": f"{base}/Encounter/{s.id}",
                "resource": resources.encounter(s),
                "search": {"mode": "match"},
            }
            for s in sessions
        ],
    }


def capability(base: str, version: str) -> dict[str, Any]:
    search = [{"name": "patient", "type": "reference"}]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "software": {"name": "VitalWatch", "version": version},
        "implementation": {"description": "VitalWatch FHIR R4 export (read-only)", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {"description": "Authorization: Bearer <staff access token>"},
                "resource": [
                    {"type": "Patient", "interaction": [{"code": "read"}]},
                    {
                        "type": "Encounter",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": search,
                    },
                    {
                        "type": "Observation",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            *search,
                            {"name": "code", "type": "token"},
                            {"name": "date", "type": "date"},
                            {"name": "_count", "type": "number"},
                        ],
                    },
                ],
            }
        ],
    }
