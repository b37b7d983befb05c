"""/api/v1/reports: the alarm-load report and the limit changes (nurse or admin),
as JSON and as CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from vitalwatch.auth.deps import AppSettings, Staff
from vitalwatch.db import DbSession
from vitalwatch.reports import export, service
from vitalwatch.reports.schemas import AlarmLoadReport, GroupBy, LimitChangesReport
from vitalwatch.vitals import Protocol

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "A range backwards, longer than 92 days, or with too many alarms"}
}
_CSV: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    200: {"content": {"text/csv": {}}, "description": "CSV, a header line first"},
}


def _period(
    claims: Staff,
    settings: AppSettings,
    since: Annotated[
        date | None, Query(description="first day, YYYY-MM-DD (default: 6 days before until)")
    ] = None,
    until: Annotated[date | None, Query(description="last day, included (default: today)")] = None,
) -> service.Period:
    """The clinic's days asked for (staff only: the token is checked first)."""
    return service.Period.of(since, until, settings.tz, datetime.now(UTC))


Days = Annotated[service.Period, Depends(_period)]
ProtocolQuery = Annotated[Protocol | None, Query(description="one protocol only")]
GroupQuery = Annotated[GroupBy, Query(description="one row per day, protocol or rule")]


async def _alarm_load(
    db: DbSession, period: Days, protocol: ProtocolQuery = None, group_by: GroupQuery = "day"
) -> AlarmLoadReport:
    return await service.alarm_load(db, period, protocol, group_by, datetime.now(UTC))


async def _limit_changes(
    db: DbSession, settings: AppSettings, period: Days, protocol: ProtocolQuery = None
) -> LimitChangesReport:
    return await service.limit_changes(
        db, period, protocol, settings.max_sustain_s, datetime.now(UTC)
    )


def _attachment(body: str, name: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/alarm-load", response_model=AlarmLoadReport, responses=_ERRORS)
async def alarm_load(
    claims: Staff, report: Annotated[AlarmLoadReport, Depends(_alarm_load)]
) -> AlarmLoadReport:
    """Alarms per monitored patient-hour, time to acknowledge, unanswered,
    escalated and nuisance alarms, per day, protocol or rule."""
    return report


@router.get("/alarm-load.csv", response_class=Response, responses=_CSV)
async def alarm_load_csv(
    claims: Staff, report: Annotated[AlarmLoadReport, Depends(_alarm_load)]
) -> Response:
    """The same rows as CSV, the totals last."""
    name = f"alarm-load-{report.since}-{report.until}-{report.group_by}.csv"
    return _attachment(export.alarm_load_csv(report), name)


@router.get("/limit-changes", response_model=LimitChangesReport, responses=_ERRORS)
async def limit_changes(
    claims: Staff, report: Annotated[LimitChangesReport, Depends(_limit_changes)]
) -> LimitChangesReport:
    """The alarm limit changes of the range: who, when, which limit, old and new,
    the reason, and the alarms switched off or on."""
    return report


@router.get("/limit-changes.csv", response_class=Response, responses=_CSV)
async def limit_changes_csv(
    claims: Staff, report: Annotated[LimitChangesReport, Depends(_limit_changes)]
) -> Response:
    """One line per limit changed."""
    name = f"limit-changes-{report.since}-{report.until}.csv"
    return _attachment(export.limit_changes_csv(report), name)
