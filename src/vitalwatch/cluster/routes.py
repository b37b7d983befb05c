"""Where a device's samples are sent in production mode: the partition of the
session it is bound to, whose owner stores and evaluates them.

Each process caches the device -> session route. Staleness costs one extra
hop, never a misfiled sample: the owner re-reads the binding in its
transaction and sends a batch of another partition's session back
("misrouted"), and the requester routes it afresh.
"""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.db import unit_of_work
from vitalwatch.devices import repository as devices_repo

#: How long a device -> session route is reused. At 2 s, 1,000 devices cost 500
#: lookups/s, 16% of a production-mode process (docs/performance.md).
_BINDING_TTL_S = 60.0


class DeviceRoutes:
    """Device -> its active session, cached for routing (see _BINDING_TTL_S)."""

    def __init__(self, maker: async_sessionmaker[AsyncSession]) -> None:
        self._maker = maker
        self._bindings: dict[int, tuple[int | None, float]] = {}

    async def session_of(self, device_id: int, fresh: bool = False) -> int | None:
        """The device's active session (None: unbound); `fresh` reads it again."""
        now = time.monotonic()
        hit = self._bindings.get(device_id)
        if hit is not None and hit[1] > now and not fresh:
            return hit[0]
        async with unit_of_work(self._maker) as db:
            session_id = await devices_repo.session_of(db, device_id)
        self._bindings[device_id] = (session_id, now + _BINDING_TTL_S)
        return session_id

    def forget_session(self, session_id: int) -> None:
        """A session changed (devices bound or unbound, ended): route its devices afresh."""
        stale = [d for d, (s, _) in self._bindings.items() if s == session_id]
        for device_id in stale:
            del self._bindings[device_id]
