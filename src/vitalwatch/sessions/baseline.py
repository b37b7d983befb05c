"""A session's pre-dose baseline (clinical-defaults.md), shared by the session
service (a dose fixes it) and the alarm service (5 min without a dose fixes it).

Its own module so that both import it one way: it needs only the stored
readings, never either service.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.db import to_ms
from vitalwatch.readings import repository as readings_repo
from vitalwatch.sessions.models import Session

#: Baseline windows of clinical-defaults.md: 10 min before the first dose, or the
#: first 5 min of the session while no dose has been given.
PRE_DOSE_WINDOW = timedelta(minutes=10)
NO_DOSE_WINDOW = timedelta(minutes=5)


async def compute_baseline(
    db: AsyncSession, session: Session, now: datetime
) -> dict[str, float | None] | None:
    """clinical-defaults.md's baseline: 10 min before the first dose, else the first 5 min."""
    if session.first_dose_at is not None:
        end = session.first_dose_at
        start = end - PRE_DOSE_WINDOW
    else:
        start = session.started_at
        end = start + NO_DOSE_WINDOW
        if now < end:
            return None
    values = await readings_repo.medians(db, session.id, to_ms(start), to_ms(end))
    return values if any(v is not None for v in values.values()) else None
