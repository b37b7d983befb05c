"""What changing a session needs of the live stream, as a port: the hub
implements it (live/hub.py), and the sessions, records and manual readings
say only this much of it, so they do not depend on the live domain."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class LiveEvents(Protocol):
    async def emit(self, db: AsyncSession, type_: str, payload: dict[str, Any]) -> int:
        """Record a live event in the caller's transaction; every dashboard gets it
        once that commits. Returns the event's id."""
        ...
