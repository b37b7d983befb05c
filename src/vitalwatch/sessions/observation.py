"""The observation clock: one place that says until when a dosed patient is
observed, so the tile, the session page, the record, the report, readiness
and the early-end flag all count from the same moment.

Observation runs the protocol's minimum after the end of the last
administration: an IV infusion's stop (or its usual length after its start
while no stop is recorded), or the last IM/IN dose. Counting from the first
dose instead ended an infusion's observation 40 min early on the station.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from vitalwatch.sessions.models import Session, SessionEvent
from vitalwatch.sessions.schemas import DoseRecord
from vitalwatch.vitals import PROFILES


def dosing_end(session: Session, doses: Sequence[SessionEvent]) -> datetime | None:
    """When dosing ended: the last dose, an infusion at its stop (or its usual end)."""
    end: datetime | None = None
    for event in doses:
        dose = DoseRecord.model_validate(event.data or {})
        t = event.ts
        if dose.route == "iv_infusion" or (
            dose.route is None and session.protocol == "ketamine-iv"
        ):
            t = dose.infusion_stop or event.ts + timedelta(
                minutes=PROFILES[session.protocol].dosing_min
            )
        end = t if end is None or t > end else end
    return end


def observation_until(session: Session, doses: Sequence[SessionEvent]) -> datetime | None:
    """The end of the observation time (None: no dose yet, or no minimum)."""
    minutes = PROFILES[session.protocol].observation_min
    end = dosing_end(session, doses)
    return None if end is None or minutes is None else end + timedelta(minutes=minutes)


def doses(events: Sequence[SessionEvent]) -> list[SessionEvent]:
    """The dose events of a session's timeline."""
    return [e for e in events if e.kind == "dose"]
