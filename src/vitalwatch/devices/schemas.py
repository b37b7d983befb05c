"""Device registration and listing."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, examples=["Bay 3 monitor"])
    model: str | None = Field(default=None, max_length=120)


class DeviceUpdate(BaseModel):
    """Rename a monitor (the HL7 work adds `hl7_ids` here)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    model: str | None = Field(default=None, max_length=120)


class DeviceOut(BaseModel):
    id: int
    name: str
    model: str | None
    last_seen: datetime | None
    session_id: int | None
    retired: bool = False
    retired_at: datetime | None = None


class DeviceCreated(DeviceOut):
    token: str = Field(description="Shown once; only its hash is stored")


class DeviceRetired(DeviceOut):
    #: The session the monitor was taken out of, if it was in one.
    released_session_id: int | None = None
