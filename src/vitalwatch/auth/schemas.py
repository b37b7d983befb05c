"""Staff authentication payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class StaffProfile(BaseModel):
    """Who a staff user is on a record: the REMS form's monitoring provider,
    the report's "given by" and signature (admin-edited)."""

    given_name: str | None = Field(default=None, min_length=1, max_length=80)
    family_name: str | None = Field(default=None, min_length=1, max_length=80)
    credentials: str | None = Field(
        default=None, min_length=1, max_length=40, description='"RN", "MD", "NP" ...'
    )
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ()./-]{5,40}$")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserAdminOut(StaffProfile):
    """A staff account as an admin sees it (never its password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    active: bool
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role = "nurse"
    password: str = Field(min_length=1, max_length=256)


class UserUpdate(StaffProfile):
    """Role, enabled, and the profile; a profile field sent as null clears it."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    active: bool | None = None


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=256)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)
