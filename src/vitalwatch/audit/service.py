"""Writing the audit log: one row per staff, device or system action."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.audit import repository
from vitalwatch.audit.models import AuditEntry
from vitalwatch.db import unit_of_work, utcnow
from vitalwatch.logging import get_logger
from vitalwatch.tasks import cancel_and_wait

log = get_logger(__name__)


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
    db.add(_entry(actor, action, entity, entity_id, detail))


def _entry(
    actor: Actor, action: str, entity: str, entity_id: int | None, detail: dict[str, Any] | None
) -> AuditEntry:
    """The row of one audited action (its `ts` the insert's default unless set)."""
    return AuditEntry(
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail=detail,
    )


async def done_before(
    db: AsyncSession, *, action: str, entity: str, entity_id: int, request: str
) -> bool:
    """Whether the audit log already holds this request's action: a command re-read
    after a takeover (the old owner committed it, then died) must not run twice."""
    details = await repository.details_of(db, action=action, entity=entity, entity_id=entity_id)
    return any(d is not None and d.get("request") == request for d in details)


class AuditQueue:
    """Audit rows that must not cost their request a database write (failed and
    throttled logins: an attacker decides how many there are). They are written
    together, one transaction every `interval_s`; repeats of the same throttled
    attempt within one interval become one row with a count.
    """

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        interval_s: float = 0.5,
        max_rows: int = 10_000,
    ) -> None:
        self._maker = maker
        self._interval_s = interval_s
        self._max_rows = max_rows
        self._rows: list[AuditEntry] = []
        self._counted: dict[tuple[str, ...], AuditEntry] = {}
        self._dropped = 0
        self._task: asyncio.Task[None] | None = None

    def add(
        self,
        *,
        actor: Actor,
        action: str,
        entity: str,
        entity_id: int | None,
        detail: dict[str, Any] | None = None,
        count_as: tuple[str, ...] | None = None,
    ) -> None:
        """Queue one row; with `count_as`, rows with the same key within one flush
        are one row whose detail["attempts"] counts them."""
        if count_as is not None and count_as in self._counted:
            row = self._counted[count_as]
            row.detail = {**(row.detail or {}), "attempts": (row.detail or {})["attempts"] + 1}
            return
        if len(self._rows) >= self._max_rows:
            self._dropped += 1
            return
        if count_as is not None:
            detail = {**(detail or {}), "attempts": 1}
        row = _entry(actor, action, entity, entity_id, detail)
        row.ts = utcnow()  # when it happened, not when the flush stores it
        self._rows.append(row)
        if count_as is not None:
            self._counted[count_as] = row

    async def flush(self) -> None:
        if self._dropped:
            log.warning("audit_rows_dropped", rows=self._dropped)
            self._dropped = 0
        if not self._rows:
            return
        rows, self._rows, self._counted = self._rows, [], {}
        try:
            async with unit_of_work(self._maker) as db:
                db.add_all(rows)
        except Exception as exc:  # kept for the next flush: the database may be back
            log.warning("audit_flush_failed", error=type(exc).__name__, rows=len(rows))
            self._rows = [*rows, *self._rows][: self._max_rows]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self.flush()
