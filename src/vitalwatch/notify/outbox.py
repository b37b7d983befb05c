"""The alarm service's notification port: outbox rows in the alarm's transaction.

`schedule` writes one outbox row per enabled step of the escalation chain, due
`delay_s` after now, in the transaction of the "escalated" transition; so the
rows exist exactly when the escalation committed (a crash before the commit
leaves neither). `cancel` marks the alarm's pending rows cancelled in the
transaction of its acknowledgement or resolution. The partition's sender
(notify/sender.py) delivers due rows.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from vitalwatch.logging import get_logger
from vitalwatch.notify import repository

log = get_logger(__name__)


def new_key() -> str:
    """An idempotency key: the same on every attempt of one notification."""
    return f"vw-{secrets.token_hex(16)}"


class Outbox:
    """Implements vitalwatch.alarms.ports.NotificationPort."""

    def __init__(self) -> None:
        self._wakers: set[asyncio.Event] = set()

    def listen(self) -> asyncio.Event:
        """An event set whenever a notification may be due at once (senders wait on it)."""
        event = asyncio.Event()
        self._wakers.add(event)
        return event

    def forget(self, event: asyncio.Event) -> None:
        self._wakers.discard(event)

    async def schedule(
        self, conn: AsyncConnection, alarm: Mapping[str, Any], reason: str, now: datetime
    ) -> None:
        alarm_id = int(alarm["id"])
        steps = await repository.enabled_chain(conn)
        if not steps:
            log.warning("notify_no_chain", alarm_id=alarm_id)
            return
        if await repository.has_pending(conn, alarm_id):
            return  # its chain is running already: one hand-over, one chain
        await repository.add_rows(
            conn,
            [
                {
                    "alarm_id": alarm_id,
                    "session_id": int(alarm["session_id"]),
                    "target_id": target_id,
                    "step": position,
                    "reason": reason,
                    "key": new_key(),
                    "state": "pending",
                    "due_at": now + timedelta(seconds=delay_s),
                    "attempts": 0,
                    "created_at": now,
                }
                for position, target_id, delay_s in steps
            ],
        )
        log.info("notify_scheduled", alarm_id=alarm_id, steps=len(steps))
        if any(delay_s == 0 for _, _, delay_s in steps):
            # Before the commit: a sender that looks now may not see the rows yet,
            # and finds them at its next poll (notify_poll_s).
            loop = asyncio.get_running_loop()
            for event in self._wakers:
                loop.call_later(0.02, event.set)

    async def cancel(self, conn: AsyncConnection, alarm_id: int, reason: str) -> None:
        count = await repository.cancel_pending(conn, alarm_id, reason)
        if count:
            log.info("notify_cancelled", alarm_id=alarm_id, count=count, reason=reason)
