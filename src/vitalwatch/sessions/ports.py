"""What changing a session needs of the world above it, as ports, so that the
sessions domain depends on neither the live domain nor the cluster:

- `LiveEvents`: the live stream (the hub implements it, live/hub.py);
- `Evaluators`: where the session's alarms are evaluated and its samples
  stored (the cluster implements it, cluster/service.py);
- `SessionViews`: the session object every dashboard gets again after a
  change, composed with its alarms and readiness above the sessions domain
  (overview/service.py).

Sessions, records, manual readings and HL7 say only this much of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.readings.ports import SampleSink
from vitalwatch.sessions.models import Session


class LiveEvents(Protocol):
    async def emit(self, db: AsyncSession, type_: str, payload: dict[str, Any]) -> int:
        """Record a live event in the caller's transaction; every dashboard gets it
        once that commits. Returns the event's id."""
        ...


class Evaluators(SampleSink, Protocol):
    """The session's evaluator (whichever process holds it) and its writer."""

    async def session_changed(self, session_id: int) -> None:
        """A committed change (limits, dose, baseline, devices, end) reaches the evaluator."""
        ...

    async def readings_struck(self, session_id: int) -> None:
        """A nurse struck out a reading: the evaluator rebuilds its state without it."""
        ...

    async def observe(self, session_id: int, kind: str, value: float, ts: datetime) -> None:
        """A nurse's observation that alarm rules read (MOAA/S)."""
        ...

    def owns(self, session_id: int) -> bool:
        """Whether this process evaluates the session (runs its periodic checks)."""
        ...


class SessionViews(Protocol):
    async def show(self, db: AsyncSession, sessions: Sequence[Session]) -> None:
        """Every dashboard gets these sessions again (a `session` live event each,
        in the caller's transaction, published once it commits)."""
        ...
