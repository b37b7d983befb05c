"""What the alarm service tells the outside world inside its transactions.

The alarm service hands an alarm to secondary notification (phones, pagers,
e-mail) through this port, in the same transaction as the alarm transition
that caused it, so a committed escalation always has its notifications and a
rolled-back one has none. The port is injected: the alarm service does not
import the notification domain (vitalwatch.notify implements it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection


class NotificationPort(Protocol):
    async def schedule(
        self, conn: AsyncConnection, alarm: Mapping[str, Any], reason: str, now: datetime
    ) -> None:
        """Start the escalation chain for an alarm nobody answered (`alarm` is its row)."""
        ...

    async def cancel(self, conn: AsyncConnection, alarm_id: int, reason: str) -> None:
        """Stop the alarm's pending notifications (acknowledged or resolved)."""
        ...


class NoNotifications:
    """The port where nothing is configured (tests of the alarm core alone)."""

    async def schedule(
        self, conn: AsyncConnection, alarm: Mapping[str, Any], reason: str, now: datetime
    ) -> None:
        return None

    async def cancel(self, conn: AsyncConnection, alarm_id: int, reason: str) -> None:
        return None
