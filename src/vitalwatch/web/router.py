"""The nurses' pages: static HTML + ES modules (no build step) served by the service.

`/` is the ward (tiles and alarm list), `/sessions` the past sessions and
`/sessions/{id}` one session's page; the session record, its report and REMS
form, the forms due, the patients and a patient's series are pages of their
own with stable URLs. Each page signs in with the staff token kept in the
browser (js/api.js: one sign-in for every tab, ended in all of them by
"Sign out"), so these routes serve files only: `PAGES` is
the one list of them, and `_route` makes each page's route the same way.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from inspect import Parameter, Signature
from pathlib import Path
from typing import Final, Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from vitalwatch.context import Ctx
from vitalwatch.errors import NotFound
from vitalwatch.ids import PathId

router = APIRouter(include_in_schema=False)

STATIC = (Path(__file__).parent / "static").resolve()
_NO_CACHE = {"Cache-Control": "no-cache"}

# Whose sign-in a page's API calls accept. The file itself holds no data and
# is served to anyone; the API behind it checks the role (auth/deps.py), and
# "link" is the acknowledge link, whose token follows '#' so never reaches a log.
Who = Literal["staff", "admin", "link"]


@dataclass(frozen=True)
class Page:
    """One page: its URL (ids in braces, checked as `PathId`), its file under static/."""

    path: str
    file: str
    who: Who

    @property
    def ids(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)


PAGES: Final = (
    Page("/", "index.html", "staff"),  # the ward: tiles and alarm list
    Page("/sessions", "past.html", "staff"),
    Page("/sessions/{session_id}", "session.html", "staff"),
    Page("/notify", "notify.html", "admin"),  # secondary targets, escalation chain
    Page("/reports/alarm-load", "alarm-load.html", "staff"),  # the clinical lead's report
    Page("/ack", "ack.html", "link"),  # a phone's acknowledge link
    Page("/sessions/{session_id}/record", "record.html", "staff"),  # checklist ... sign-off
    Page("/sessions/{session_id}/report", "report.html", "staff"),
    Page("/sessions/{session_id}/rems", "rems.html", "staff"),
    Page("/rems/due", "forms-due.html", "staff"),
    Page("/patients", "patients.html", "staff"),
    Page("/patients/{patient_id}", "patient.html", "staff"),
    Page("/manual", "manual.html", "staff"),  # vitals typed in (?session=ID)
    Page("/admin/hl7", "hl7.html", "admin"),  # unassigned HL7 monitors, rows not stored
    Page("/admin", "admin.html", "admin"),  # staff accounts, monitors, audit log
)


def _route(page: Page) -> Callable[..., Awaitable[FileResponse]]:
    """The endpoint of `page`, its path ids declared as `PathId` in its signature,
    so FastAPI answers a bad id with the same 422 naming it as any API route."""

    async def serve(**_ids: int) -> FileResponse:
        return FileResponse(STATIC / page.file, headers=_NO_CACHE)

    ids = [Parameter(name, Parameter.KEYWORD_ONLY, annotation=PathId) for name in page.ids]
    serve.__signature__ = Signature(ids)  # type: ignore[attr-defined]
    return serve


for _page in PAGES:
    # HEAD too: a link checker (or a page asking whether a page is there) gets 200, not 405
    router.add_api_route(_page.path, _route(_page), methods=["GET", "HEAD"])


@router.get("/static/{path:path}")
async def static(path: str) -> FileResponse:
    """Files under static/ only (no path escapes); revalidated on each load."""
    target = (STATIC / path).resolve()
    if not target.is_file() or not target.is_relative_to(STATIC):
        raise NotFound("Not found")
    return FileResponse(target, headers=_NO_CACHE)


@router.get("/clinic.json")
async def clinic(ctx: Ctx) -> JSONResponse:
    """How the pages write dates: the clinic's locale and zone (settings, no
    patient data: served to a page before its sign-in, like its files)."""
    settings = ctx.settings
    body = {"locale": settings.clinic_locale, "timezone": settings.clinic_timezone}
    return JSONResponse(body, headers=_NO_CACHE)
