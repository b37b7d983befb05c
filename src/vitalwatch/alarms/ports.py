"""What the alarm service needs of the outside world, injected.

- `Ownership`: which sessions this evaluator holds and, inside every
  transaction that writes alarm state, that it still holds them. One process
  holds everything (`OwnsEverything`); in production mode a partition
  (cluster/partition.py) holds its share and fences on its lease's epoch.
  This is all the alarm service knows of there being several processes.
- `EventLog`: where alarm events go to the dashboards: recorded in the
  transaction that changes the alarm, published once it commits (the live
  hub implements it; the alarm service does not import the live domain).
- `NotificationPort`: the alarm service hands an alarm to secondary
  notification (phones, pagers, e-mail) in the same transaction as the alarm
  transition that caused it, so a committed escalation always has its
  notifications and a rolled-back one has none (vitalwatch.notify implements
  it; the alarm service does not import the notification domain).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


class Ownership(Protocol):
    @property
    def name(self) -> str:
        """What the metrics call this evaluator (a partition's number)."""
        ...

    def owns(self, session_id: int) -> bool:
        """Whether this evaluator holds the session's alarm state."""
        ...

    async def fence(self, conn: AsyncConnection) -> None:
        """Raise (rolling the transaction back) unless this evaluator still holds
        its sessions: a process paused past its lease must not write."""
        ...


class OwnsEverything:
    """One process: every session is this evaluator's, for good."""

    name = "0"

    def owns(self, session_id: int) -> bool:
        return True

    async def fence(self, conn: AsyncConnection) -> None:
        return None


class EventLog(Protocol):
    async def record(self, conn: AsyncConnection, type_: str, payload: dict[str, Any]) -> int:
        """A live event in the caller's transaction (a `live_events` row): its id."""
        ...

    def publish(self, event_id: int, type_: str, payload: dict[str, Any]) -> None:
        """A committed event, to every dashboard."""
        ...


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


class CommandSource(Protocol):
    async def repeated(self, db: AsyncSession, action: str, alarm_id: int) -> bool:
        """Whether the command being run (`action`: its audit action) has committed
        already: it is then answered with the alarm as it stands, neither run nor
        audited again."""
        ...

    def audit_detail(self) -> Mapping[str, Any]:
        """Added to the command's audit row (how `repeated` knows the command again)."""
        ...


class DirectCommands:
    """Commands called directly: each arrives once."""

    async def repeated(self, db: AsyncSession, action: str, alarm_id: int) -> bool:
        return False

    def audit_detail(self) -> Mapping[str, Any]:
        return {}
