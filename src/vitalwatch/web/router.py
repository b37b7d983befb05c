"""The nurses' dashboard: static pages (no build step) served by the service.

`/` is the ward (tiles and alarm list), `/sessions` the past sessions and
`/sessions/{id}` one session's page; each page signs in with the staff token
kept in the browser session, so these routes serve files only.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from vitalwatch.ids import PathId

router = APIRouter(include_in_schema=False)

STATIC = (Path(__file__).parent / "static").resolve()
_NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=_NO_CACHE)


@router.get("/sessions")
async def past_sessions_page() -> FileResponse:
    return FileResponse(STATIC / "past.html", headers=_NO_CACHE)


@router.get("/sessions/{session_id}")
async def session_page(session_id: PathId) -> FileResponse:
    return FileResponse(STATIC / "session.html", headers=_NO_CACHE)


@router.get("/notify")
async def notify_page() -> FileResponse:
    """Admin: secondary notification targets and the escalation chain."""
    return FileResponse(STATIC / "notify.html", headers={"Cache-Control": "no-cache"})


@router.get("/reports/alarm-load")
async def alarm_load_page() -> FileResponse:
    """The clinical lead's alarm-load report (nurse or admin sign-in)."""
    return FileResponse(STATIC / "alarm-load.html", headers=_NO_CACHE)


@router.get("/ack")
async def ack_page() -> FileResponse:
    """A phone's acknowledge link (the token follows '#', so it never reaches a log)."""
    return FileResponse(STATIC / "ack.html", headers={"Cache-Control": "no-cache"})


@router.get("/static/{path:path}")
async def static(path: str) -> FileResponse:
    """Files under static/ only (no path escapes); revalidated on each load."""
    target = (STATIC / path).resolve()
    if not target.is_file() or not target.is_relative_to(STATIC):
        raise HTTPException(404, "Not found")
    return FileResponse(target, headers=_NO_CACHE)
