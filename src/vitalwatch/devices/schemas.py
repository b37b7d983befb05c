"""Device registration and listing."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, examples=["Bay 3 monitor"])
    model: str | None = Field(default=None, max_length=120)


class DeviceOut(BaseModel):
    id: int
    name: str
    model: str | None
    last_seen: datetime | None
    session_id: int | None
    counter_resets: int = Field(
        default=0, description="times the device restarted its sample counter (seq)"
    )
    counter_reset_at: datetime | None = None


class DeviceCreated(DeviceOut):
    token: str = Field(description="Shown once; only its hash is stored")
