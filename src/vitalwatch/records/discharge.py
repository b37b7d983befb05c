"""The nurse's discharge sign-off: who, when, to whom the patient left. While the
criteria are not met it needs an override reason, and while the newest BP is
overdue an answer saying why none is needed, both recorded in the report. The
readiness moments are kept as they stood at the sign-off."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.db import utcnow
from vitalwatch.records import readiness, repository
from vitalwatch.records.errors import RecordConflict
from vitalwatch.records.models import SessionReadiness
from vitalwatch.records.schemas import ReadinessOut, SignOffIn
from vitalwatch.records.text import hm
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.errors import SessionNotFound
from vitalwatch.sessions.service import SessionParts


async def row_for(db: AsyncSession, session_id: int) -> SessionReadiness:
    row = (await repository.readiness_rows(db, [session_id], for_update=True)).get(session_id)
    if row is None:
        row = SessionReadiness(session_id=session_id)
        db.add(row)
    return row


async def sign_off(
    db: AsyncSession, parts: SessionParts, session_id: int, body: SignOffIn, actor: audit.Actor
) -> ReadinessOut:
    session = await sessions_repo.get(db, session_id, for_update=True)
    if session is None:
        raise SessionNotFound(session_id)
    latest, tz = parts.latest, parts.settings.tz
    await latest.ensure_loaded(db, {session_id})
    now_state = (await readiness.compute(db, latest, tz, [session]))[session_id]
    row = await row_for(db, session_id)
    if row.signed_off_at is not None:
        raise RecordConflict(f"Session {session_id} was already signed off by {row.signed_off_by}")
    if not now_state.ready and body.override_reason is None:
        raise RecordConflict(
            "Not ready for discharge: "
            + "; ".join(now_state.reasons)
            + ". To sign off anyway, give an override reason (it is recorded)."
        )
    if now_state.bp_overdue and body.bp_overdue_answer is None:
        raise RecordConflict(
            f"The newest BP was taken at {hm(now_state.last_bp_at, tz)}, over "
            "the profile's BP age for discharge: take one, or say in bp_overdue_answer "
            "why none is needed (it is recorded)."
        )
    # the moments the report, the REMS form and the course keep from now on
    row.stable_at, row.first_ready_at = now_state.stable_at, now_state.first_ready_at
    row.bp_overdue_answer = body.bp_overdue_answer if now_state.bp_overdue else None
    row.signed_off_at = utcnow()
    row.signed_off_by = actor.name
    row.left_with = body.left_with
    row.note = body.note
    row.override_reason = None if now_state.ready else body.override_reason
    await audit.record(
        db,
        actor=actor,
        action="discharge.sign_off",
        entity="session",
        entity_id=session_id,
        detail={
            "ready": now_state.ready,
            "reasons": now_state.reasons,
            "override_reason": row.override_reason,
            "bp_overdue_answer": row.bp_overdue_answer,
        },
    )
    await parts.views.show(db, [session])
    return (await readiness.compute(db, latest, tz, [session]))[session_id]
