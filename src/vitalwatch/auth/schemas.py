"""Staff authentication payloads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Role = Literal["nurse", "admin"]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - OAuth2 token type
    role: Role
    expires_in: int


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
