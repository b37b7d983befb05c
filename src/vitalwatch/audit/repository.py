"""Reading the audit log, newest first, with the admin page's filters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None  # a user name (exact)
    action: str | None = None  # exact ("user.disable") or a prefix ending in "." ("auth.")
    session_id: int | None = None  # the session's own rows and those of its alarms:
    alarm_ids: frozenset[int] = frozenset()  # the session's alarms (the caller knows them)
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # paging: rows older than this id


async def search(db: AsyncSession, f: AuditFilter, limit: int) -> Sequence[AuditEntry]:
    stmt = select(AuditEntry)
    if f.actor is not None:
        stmt = stmt.where(AuditEntry.actor_name == f.actor)
    if f.action is not None:
        if f.action.endswith("."):
            stmt = stmt.where(AuditEntry.action.startswith(f.action, autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == f.action)
    if f.session_id is not None:
        stmt = stmt.where(
            or_(
                and_(AuditEntry.entity == "session", AuditEntry.entity_id == f.session_id),
                and_(AuditEntry.entity == "alarm", AuditEntry.entity_id.in_(f.alarm_ids)),
            )
        )
    if f.since is not None:
        stmt = stmt.where(AuditEntry.ts >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEntry.ts <= f.until)
    if f.before_id is not None:
        stmt = stmt.where(AuditEntry.id < f.before_id)
    stmt = stmt.order_by(AuditEntry.id.desc()).limit(limit)
    return (await db.execute(stmt)).scalars().all()


async def details_of(
    db: AsyncSession, *, action: str, entity: str, entity_id: int
) -> Sequence[dict[str, Any] | None]:
    """The `detail` of every entry of one action on one entity."""
    result = await db.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.entity == entity,
            AuditEntry.entity_id == entity_id,
            AuditEntry.action == action,
        )
    )
    return result.all()
