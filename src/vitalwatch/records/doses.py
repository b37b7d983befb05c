"""Doses on the timeline: drug, amount, route, lot and infusion times, and the
pre-dose checklist as it stood. A dose with the checklist incomplete is still
stored (the record must show what happened), flagged and audited with the
override reason given, or the lack of one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.logging import get_logger
from vitalwatch.records import checklist, repository
from vitalwatch.records.errors import RecordConflict, RecordInvalid, RecordNotFound
from vitalwatch.records.schemas import InfusionStop
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions import service as sessions_service
from vitalwatch.sessions.schemas import DoseIn, DoseRecord, EventCreate, EventOut
from vitalwatch.sessions.service import SessionParts

log = get_logger(__name__)

#: What a protocol's dose is when the nurse does not say otherwise.
DEFAULTS = {
    "esketamine-in": ("esketamine", "intranasal"),
    "ketamine-iv": ("ketamine", "iv_infusion"),
    "ketamine-im": ("ketamine", "im"),
    "custom": (None, None),
}


def _record(protocol: str, dose: DoseIn, body: EventCreate) -> DoseRecord:
    drug, route = DEFAULTS[protocol]
    route = dose.route or route
    total = dose.amount
    if dose.unit == "mg/kg":
        total = round(dose.amount * dose.weight_kg, 1) if dose.amount and dose.weight_kg else None
    if dose.infusion_stop is not None and route != "iv_infusion":
        raise RecordInvalid(("body", "dose", "infusion_stop"), "only an IV infusion stops")
    return DoseRecord(
        drug=dose.drug or drug,
        amount=dose.amount,
        unit=dose.unit,
        weight_kg=dose.weight_kg,
        total_mg=total,
        route=route,  # type: ignore[arg-type]
        lot_number=dose.lot_number,
        infusion_stop=dose.infusion_stop,
    )


async def add_event(
    db: AsyncSession, parts: SessionParts, session_id: int, body: EventCreate, actor: audit.Actor
) -> EventOut:
    """POST /api/v1/sessions/{id}/events: any event; a dose with its record."""
    if body.kind != "dose":
        for field in ("dose", "override_reason"):
            if getattr(body, field) is not None:
                raise RecordInvalid(("body", field), "only a dose event carries this")
        return await sessions_service.add_event(db, parts, session_id, body, actor)
    session = await sessions_repo.get(db, session_id)
    if session is None:
        return await sessions_service.add_event(db, parts, session_id, body, actor)  # its 404
    record = _record(session.protocol, body.dose or DoseIn(), body)
    skew_s = parts.settings.max_future_skew_s
    ts = sessions_service.event_time(skew_s, body.ts, not_before=session.started_at)
    if record.route == "iv_infusion":
        record.infusion_start = ts
        if record.infusion_stop is not None and record.infusion_stop <= ts:
            raise RecordInvalid(
                ("body", "dose", "infusion_stop"), "the infusion stops after it starts"
            )
    state = await checklist.state(db, session, parts.settings.tz)
    record.checklist_complete = state.complete
    record.checklist_missing = state.missing
    record.override_reason = None if state.complete else body.override_reason
    out = await sessions_service.add_event(
        db, parts, session_id, body, actor, data=record.model_dump(mode="json")
    )
    if not state.complete:
        await audit.record(
            db,
            actor=actor,
            action="dose.checklist_incomplete",
            entity="session",
            entity_id=session_id,
            detail={
                "event_id": out.id,
                "missing": state.missing,
                "override_reason": body.override_reason,
            },
        )
        log.info("dose_checklist_incomplete", session_id=session_id, event_id=out.id)
    return out


async def stop_infusion(
    db: AsyncSession,
    max_future_skew_s: float,
    session_id: int,
    event_id: int,
    body: InfusionStop,
    actor: audit.Actor,
) -> EventOut:
    event = await repository.dose_event(db, session_id, event_id)
    if event is None or event.kind != "dose":
        raise RecordNotFound(f"Session {session_id} has no dose {event_id}")
    record = DoseRecord.model_validate(event.data or {})
    if record.route != "iv_infusion":
        raise RecordConflict(f"Dose {event_id} is not an IV infusion")
    if record.infusion_stop is not None:
        raise RecordConflict(f"The infusion of dose {event_id} was already stopped")
    ts = sessions_service.event_time(max_future_skew_s, body.ts)
    if ts <= event.ts:
        raise RecordInvalid(("body", "ts"), "the infusion stops after it starts")
    record.infusion_stop = ts
    event.data = record.model_dump(mode="json")
    await audit.record(
        db,
        actor=actor,
        action="dose.infusion_stop",
        entity="session",
        entity_id=session_id,
        detail={"event_id": event_id, "ts": ts.isoformat()},
    )
    return sessions_service.event_out(event)
