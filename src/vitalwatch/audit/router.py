"""GET /api/v1/audit (admin): the audit log with filters, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from vitalwatch.alarms import repository as alarms_repo
from vitalwatch.audit import repository
from vitalwatch.audit.repository import AuditFilter
from vitalwatch.audit.schemas import AuditOut
from vitalwatch.auth.deps import Admin
from vitalwatch.db import DbSession
from vitalwatch.ids import Moment

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

CSV_COLUMNS = ("id", "ts", "actor_type", "actor_id", "actor_name", "action", "entity", "entity_id")
#: Characters that make a spreadsheet read a cell as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


async def _filter(
    db: DbSession,
    actor: Annotated[str | None, Query(max_length=64, description="user name")] = None,
    action: Annotated[
        str | None, Query(max_length=48, description='exact, or a prefix ending in "."')
    ] = None,
    session_id: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    before_id: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
) -> AuditFilter:
    """The filter, with the session's alarms (their rows belong to the session's log)."""
    alarm_ids = (
        frozenset() if session_id is None else await alarms_repo.ids_of_session(db, session_id)
    )
    return AuditFilter(actor, action, session_id, alarm_ids, since, until, before_id)


@router.get("", response_model=list[AuditOut])
async def audit_log(
    db: DbSession,
    claims: Admin,
    actor: Annotated[str | None, Query(max_length=64, description="user name")] = None,
    action: Annotated[
        str | None, Query(max_length=48, description='exact, or a prefix ending in "."')
    ] = None,
    session_id: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    before_id: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditOut]:
    """Newest first; page with `before_id` (the last id you got)."""
    f = await _filter(db, actor, action, session_id, since, until, before_id)
    return [AuditOut.model_validate(e) for e in await repository.search(db, f, limit)]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


@router.get(".csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def audit_csv(
    db: DbSession,
    claims: Admin,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=48)] = None,
    session_id: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """The same rows as CSV (a spreadsheet never runs a cell as a formula)."""
    f = await _filter(db, actor, action, session_id, since, until, None)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, "detail"])
    for e in await repository.search(db, f, limit):
        row = [getattr(e, c).isoformat() if c == "ts" else getattr(e, c) for c in CSV_COLUMNS]
        detail = orjson.dumps(e.detail).decode() if e.detail is not None else None
        writer.writerow([_cell(v) for v in (*row, detail)])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="vitalwatch-audit.csv"'},
    )
