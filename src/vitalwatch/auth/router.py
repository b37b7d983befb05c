"""POST /api/v1/auth/token: the OAuth2 password flow for staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, status

from vitalwatch.auth import service
from vitalwatch.auth.deps import AppSettings, Staff
from vitalwatch.auth.schemas import TokenResponse, UserOut
from vitalwatch.db import DbSession

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse)
async def token(
    db: DbSession,
    settings: AppSettings,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
) -> TokenResponse:
    result = await service.login(db, settings, username, password)
    if result is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return result


@router.get("/me", response_model=UserOut)
async def me(claims: Staff) -> UserOut:
    return UserOut(id=claims.user_id, username=claims.username, role=claims.role)  # type: ignore[arg-type]
