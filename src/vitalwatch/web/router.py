"""The nurses' dashboard: one static page (no build step) served by the service."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)

STATIC = (Path(__file__).parent / "static").resolve()


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


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
    return FileResponse(target, headers={"Cache-Control": "no-cache"})
