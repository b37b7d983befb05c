"""Writing the audit log: one row per staff, device or system action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Actor:
    type: str  # "user" | "device" | "system"
    id: int | None
    name: str | None


SYSTEM = Actor("system", None, "system")


async def record(
    db: AsyncSession,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row to the caller's transaction (stored only if it commits)."""
    db.add(
        AuditEntry(
            actor_type=actor.type,
            actor_id=actor.id,
            actor_name=actor.name,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=detail,
        )
    )


async def done_before(
    db: AsyncSession, *, action: str, entity: str, entity_id: int, request: str
) -> bool:
    """Whether the audit log already holds this request's action: a command re-read
    after a takeover (the old owner committed it, then died) must not run twice."""
    details = await db.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.entity == entity,
            AuditEntry.entity_id == entity_id,
            AuditEntry.action == action,
        )
    )
    return any(d is not None and d.get("request") == request for d in details)
