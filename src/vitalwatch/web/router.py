"""The nurses' pages: static HTML + ES modules (no build step) served by the service.

`/` is the ward (tiles and alarm list), `/sessions` the past sessions and
`/sessions/{id}` one session's page; the session record, its report and REMS
form, the forms due, the patients and a patient's series are pages of their
own with stable URLs. Each page signs in with the staff token kept in the
browser session (js/api.js), so these routes serve files only.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from vitalwatch.ids import PathId

router = APIRouter(include_in_schema=False)

STATIC = (Path(__file__).parent / "static").resolve()
_NO_CACHE = {"Cache-Control": "no-cache"}


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})


@router.get("/")
async def index() -> FileResponse:
    return _page("index.html")


@router.get("/sessions")
async def past_sessions_page() -> FileResponse:
    return _page("past.html")


@router.get("/sessions/{session_id}")
async def session_page(session_id: PathId) -> FileResponse:
    return _page("session.html")


@router.get("/notify")
async def notify_page() -> FileResponse:
    """Admin: secondary notification targets and the escalation chain."""
    return _page("notify.html")


@router.get("/reports/alarm-load")
async def alarm_load_page() -> FileResponse:
    """The clinical lead's alarm-load report (nurse or admin sign-in)."""
    return FileResponse(STATIC / "alarm-load.html", headers=_NO_CACHE)


@router.get("/ack")
async def ack_page() -> FileResponse:
    """A phone's acknowledge link (the token follows '#', so it never reaches a log)."""
    return _page("ack.html")


@router.get("/sessions/{session_id}/record")
async def session_record(session_id: PathId) -> FileResponse:
    """Checklist, doses, observations, readiness and sign-off of one session."""
    return _page("record.html")


@router.get("/sessions/{session_id}/report")
async def session_report(session_id: PathId) -> FileResponse:
    return _page("report.html")


@router.get("/sessions/{session_id}/rems")
async def rems_form(session_id: PathId) -> FileResponse:
    return _page("rems.html")


@router.get("/rems/due")
async def forms_due() -> FileResponse:
    return _page("forms-due.html")


@router.get("/patients")
async def patients() -> FileResponse:
    return _page("patients.html")


@router.get("/patients/{patient_id}")
async def patient_series(patient_id: PathId) -> FileResponse:
    return _page("patient.html")


@router.get("/manual")
async def manual() -> FileResponse:
    """Vitals typed in for one session (?session=ID), for a standalone monitor."""
    return FileResponse(STATIC / "manual.html", headers={"Cache-Control": "no-cache"})


@router.get("/admin/hl7")
async def hl7_admin() -> FileResponse:
    """Unassigned HL7 monitors and rows not stored (the API checks the admin role)."""
    return FileResponse(STATIC / "hl7.html", headers={"Cache-Control": "no-cache"})


@router.get("/admin")
async def admin() -> FileResponse:
    """The administration page (its API calls need the admin role)."""
    return FileResponse(STATIC / "admin.html", headers={"Cache-Control": "no-cache"})


@router.get("/static/{path:path}")
async def static(path: str) -> FileResponse:
    """Files under static/ only (no path escapes); revalidated on each load."""
    target = (STATIC / path).resolve()
    if not target.is_file() or not target.is_relative_to(STATIC):
        raise HTTPException(404, "Not found")
    return FileResponse(target, headers=_NO_CACHE)
