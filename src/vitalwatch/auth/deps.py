"""Who is calling: staff (JWT bearer) or a device (device token bearer).

A staff token must be validly signed, unexpired, and still accepted by its
user (exists, active, same token version: auth.directory). The edge
middleware (vitalwatch/edge.py) makes the same check before a body is read
and leaves the claims in the request state; the dependency reuses them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vitalwatch.audit.service import Actor
from vitalwatch.auth.security import TokenClaims, decode_access_token
from vitalwatch.config import Settings
from vitalwatch.context import AppContext
from vitalwatch.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="Staff access token or device token")

NOT_AUTHENTICATED = "Not authenticated: send Authorization: Bearer <access token>"
INVALID_TOKEN = "Invalid or expired access token"  # noqa: S105 - a message
REVOKED_TOKEN = "This sign-in is no longer valid (signed out or account changed): sign in again"  # noqa: S105


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings_dep)]


async def staff_claims(ctx: AppContext, token: str) -> TokenClaims | str:
    """The accepted claims of a staff token, or the 401 detail saying why not."""
    signed = decode_access_token(ctx.settings.secret_key, token)
    if signed is None:
        return INVALID_TOKEN
    claims = await ctx.users.accept(signed)
    return REVOKED_TOKEN if claims is None else claims


async def current_staff(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> TokenClaims:
    checked = getattr(request.state, "staff", None)
    if isinstance(checked, TokenClaims):
        return checked
    if credentials is None:
        raise Unauthorized(NOT_AUTHENTICATED)
    claims = await staff_claims(request.app.state.ctx, credentials.credentials)
    if isinstance(claims, str):
        raise Unauthorized(claims)
    return claims


def require_role(*roles: str) -> object:
    async def _check(claims: Annotated[TokenClaims, Depends(current_staff)]) -> TokenClaims:
        if claims.role not in roles:
            raise Forbidden(f"This needs the role {' or '.join(roles)}; you are {claims.role}")
        return claims

    return Depends(_check)


Staff = Annotated[TokenClaims, require_role("nurse", "admin")]
Admin = Annotated[TokenClaims, require_role("admin")]


def actor_of(claims: TokenClaims) -> Actor:
    return Actor("user", claims.user_id, claims.username)
