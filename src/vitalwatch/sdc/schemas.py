"""SDC providers as the API shows them, and a binding."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vitalwatch.ids import BodyId


class SkippedOut(BaseModel):
    code: str = Field(description="The metric's MDC code")
    metric: str | None
    reason: str = Field(description='Why it was not a value: "validity questionable", ...')
    count: int
    last_seen: datetime


class ProviderOut(BaseModel):
    epr: str = Field(description="The provider's endpoint reference (WS-Discovery)")
    manufacturer: str | None
    model: str | None
    serial: str | None
    location: dict[str, str] = Field(
        description="Its location context (facility, poc, room, bed...), if it has one"
    )
    online: bool = Field(description="Announced now (hello or probe match, no bye since)")
    connected: bool = Field(description="Subscribed to its reports (bound providers only)")
    device_id: int | None = Field(description="The device it is bound to, if any")
    bound_at: datetime | None = None
    skipped: list[SkippedOut] = Field(
        default_factory=list, description="Values it sent that were not taken as values"
    )


class BindProvider(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epr: str = Field(min_length=1, max_length=200)
    device_id: BodyId
