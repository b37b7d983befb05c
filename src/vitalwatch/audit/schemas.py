"""The audit log as admins read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ts: datetime
    actor_type: str
    actor_id: int | None
    actor_name: str | None
    action: str
    entity: str
    entity_id: int | None
    detail: dict[str, Any] | None
