"""The notification API's request and response bodies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vitalwatch.alarms.schemas import AlarmOut, Priority
from vitalwatch.ids import BodyId
from vitalwatch.notify.channels import apprise_url_ok

TargetKind = Literal["webhook", "ntfy", "email", "apprise"]
OutboxState = Literal["pending", "sent", "cancelled", "failed"]
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
#: The most chain steps; a longer chain is a configuration mistake.
MAX_STEPS = 10


def _http_url(value: str) -> str:
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise ValueError("must be an http:// or https:// URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class TargetIn(BaseModel):
    """A notification target. `address` is the webhook URL, the ntfy topic URL
    (e.g. https://ntfy.example.org/ward-3), the e-mail address, or an apprise URL
    (tgram://, slack://, pover://, ...). `secret`: the webhook's signing key (32+
    characters; generated when left out) or the ntfy access token."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)
    kind: TargetKind
    address: str = Field(min_length=3, max_length=2000)
    secret: str | None = Field(default=None, min_length=8, max_length=200)
    user: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Staff user who carries this phone: acknowledge links act as them",
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _address_fits_kind(self) -> TargetIn:
        if self.kind in ("webhook", "ntfy"):
            try:
                _http_url(self.address)
            except ValueError as exc:
                raise ValueError(f"address of a {self.kind} target {exc}") from None
        elif self.kind == "email":
            if not _EMAIL.match(self.address):
                raise ValueError("address of an email target must be an e-mail address")
        elif not apprise_url_ok(self.address):
            raise ValueError("address of an apprise target is not a URL apprise knows")
        if self.kind == "webhook" and self.secret is not None and len(self.secret) < 32:
            raise ValueError("secret of a webhook target must have at least 32 characters")
        if self.kind in ("email", "apprise") and self.secret is not None:
            raise ValueError(f"a {self.kind} target takes no secret")
        return self


class TargetPatch(BaseModel):
    """Fields to change; the result is checked as a whole (as TargetIn)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=80)
    kind: TargetKind | None = None
    address: str | None = Field(default=None, min_length=3, max_length=2000)
    secret: str | None = Field(default=None, min_length=8, max_length=200)
    user: str | None = Field(default=None, max_length=64, description="empty string: nobody")
    enabled: bool | None = None


class TargetOut(BaseModel):
    id: int
    name: str
    kind: TargetKind
    address: str
    user: str | None
    enabled: bool
    has_secret: bool
    created_at: datetime
    updated_at: datetime


class TargetCreated(TargetOut):
    secret: str | None = Field(description="Shown once: the webhook's signing key")


class ChainStepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_id: BodyId
    delay_s: int = Field(ge=0, le=3600, description="After the alarm is handed over")


class ChainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[ChainStepIn] = Field(max_length=MAX_STEPS)

    @field_validator("steps")
    @classmethod
    def _once_each(cls, steps: list[ChainStepIn]) -> list[ChainStepIn]:
        ids = [s.target_id for s in steps]
        if len(set(ids)) != len(ids):
            raise ValueError("a target may appear only once in the chain")
        return steps


class ChainStepOut(BaseModel):
    position: int
    target_id: int
    target_name: str
    target_enabled: bool
    delay_s: int


class OutboxOut(BaseModel):
    id: int
    alarm_id: int
    session_id: int
    target_id: int
    target_name: str
    step: int
    reason: str
    key: str
    state: OutboxState
    due_at: datetime
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    link_used_at: datetime | None


class TestOut(BaseModel):
    ok: bool
    outcome: str
    key: str


class LinkToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=1000)


class LinkAlarm(BaseModel):
    id: int
    session_id: int
    room: str | None
    priority: Priority
    message: str
    state: str
    raised_at: datetime
    acked_at: datetime | None
    acked_by: str | None


class LinkPreview(BaseModel):
    """What the acknowledge link will do (GET-safe: nothing changes)."""

    alarm: LinkAlarm
    acknowledge_as: str
    expires_at: datetime
    used: bool


class LinkDone(BaseModel):
    alarm: AlarmOut
    acknowledged_as: str
    #: Someone acknowledged it first (at the station, or another link).
    already_acknowledged: bool
