"""Who is calling: staff (JWT bearer) or a device (device token bearer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vitalwatch.audit.service import Actor
from vitalwatch.auth.security import TokenClaims, decode_access_token
from vitalwatch.config import Settings

_bearer = HTTPBearer(auto_error=False, description="Staff access token or device token")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings_dep)]


async def current_staff(
    settings: AppSettings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenClaims:
    if credentials is None:
        raise _unauthorized("Not authenticated: send Authorization: Bearer <access token>")
    claims = decode_access_token(settings.secret_key, credentials.credentials)
    if claims is None:
        raise _unauthorized("Invalid or expired access token")
    return claims


def require_role(*roles: str) -> object:
    async def _check(claims: Annotated[TokenClaims, Depends(current_staff)]) -> TokenClaims:
        if claims.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"This needs the role {' or '.join(roles)}; you are {claims.role}",
            )
        return claims

    return Depends(_check)


Staff = Annotated[TokenClaims, require_role("nurse", "admin")]
Admin = Annotated[TokenClaims, require_role("admin")]


def actor_of(claims: TokenClaims) -> Actor:
    return Actor("user", claims.user_id, claims.username)
