"""The pre-dose checklist of a session: its protocol's items, the nurse's answers
(each audited with who and when) and the esketamine BP gate, which a BP at or
below 140/90 satisfies, or a clinician's decision to proceed."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.db import from_ms, utcnow
from vitalwatch.readings import repository as readings_repo
from vitalwatch.readings.repository import BpReading
from vitalwatch.records import repository
from vitalwatch.records.errors import RecordConflict, RecordInvalid, RecordNotFound
from vitalwatch.records.models import ChecklistEntry
from vitalwatch.records.profiles import Profiles, entered_at
from vitalwatch.records.schemas import (
    MEDICATIONS_ITEM,
    BpValue,
    ChecklistAnswer,
    ChecklistItemDef,
    ChecklistItemOut,
    ChecklistOut,
)
from vitalwatch.records.text import hm, num
from vitalwatch.sessions import repository as sessions_repo
from vitalwatch.sessions.errors import SessionNotFound
from vitalwatch.sessions.models import Session
from vitalwatch.vitals import PROFILES

DEFAULT_GATE = (140.0, 90.0)


def gate_limit(protocol: str) -> tuple[float, float]:
    return PROFILES[protocol].predose_bp_advisory or DEFAULT_GATE


def predose_bp(session: Session, bps: Sequence[BpReading]) -> BpValue | None:
    """The newest BP taken before the first dose (before now while none is given)."""
    until = session.first_dose_at.timestamp() * 1000 if session.first_dose_at else float("inf")
    before = [b for b in bps if b[0] <= until]
    if not before:
        return None
    ts, sbp, dbp, _ = before[-1]
    return BpValue(sbp=sbp, dbp=dbp, ts=from_ms(ts))


def _gate(
    item: ChecklistItemDef,
    entry: ChecklistEntry | None,
    bp: BpValue | None,
    limit: tuple[float, float],
    tz: ZoneInfo,
) -> tuple[bool, str]:
    if bp is None:
        return False, "No pre-dose BP yet"
    reading = f"BP {num(bp.sbp)}/{num(bp.dbp)} at {hm(bp.ts, tz)}"
    if bp.sbp <= limit[0] and bp.dbp <= limit[1]:
        return True, f"{reading}, within {num(limit[0])}/{num(limit[1])}"
    above = f"{reading} above {num(limit[0])}/{num(limit[1])}"
    covered = (
        entry is not None
        and entry.decision is not None
        and entry.bp_sbp is not None
        and entry.bp_dbp is not None
        and bp.sbp <= entry.bp_sbp
        and bp.dbp <= entry.bp_dbp
    )
    if covered and entry is not None and entry.decision == "proceed":
        return True, f"{above}: {entry.clinician} decided to proceed ({entry.reason})"
    if covered and entry is not None:
        return False, f"{above}: {entry.clinician} deferred dosing ({entry.reason})"
    return False, f"{above}: needs a clinician's decision"


def items_out(
    session: Session,
    items: Sequence[ChecklistItemDef],
    entries: dict[str, ChecklistEntry],
    bps: Sequence[BpReading],
    tz: ZoneInfo,
) -> ChecklistOut:
    bp = predose_bp(session, bps)
    out = []
    for item in items:
        entry = entries.get(item.key)
        if item.kind == "bp_gate":
            satisfied, status = _gate(item, entry, bp, gate_limit(session.protocol), tz)
        else:
            satisfied = bool(entry and entry.done)
            status = "Done" if satisfied else "Not done"
        out.append(
            ChecklistItemOut(
                key=item.key,
                label=item.label,
                kind=item.kind,
                satisfied=satisfied,
                status=status,
                done=bool(entry and entry.done),
                decision=entry.decision if entry else None,
                clinician=entry.clinician if entry else None,
                reason=entry.reason if entry else None,
                note=entry.note if entry else None,
                bp=bp if item.kind == "bp_gate" else None,
                medications=entry.medications if entry else None,
                by=entry.by_name if entry else None,
                at=entry.at if entry else None,
            )
        )
    return ChecklistOut(
        session_id=session.id,
        protocol=session.protocol,
        items=out,
        complete=all(i.satisfied for i in out),
        missing=[i.label for i in out if not i.satisfied],
    )


async def _session(db: AsyncSession, session_id: int, *, lock: bool = False) -> Session:
    session = await sessions_repo.get(db, session_id, for_update=lock)
    if session is None:
        raise SessionNotFound(session_id)
    return session


async def state(db: AsyncSession, session: Session, tz: ZoneInfo) -> ChecklistOut:
    profile = (await Profiles.load(db, [session.protocol])).at(
        session.protocol, entered_at(session)
    )
    entries = await repository.checklist_entries(db, session.id)
    bps: Sequence[BpReading] = []
    if any(i.kind == "bp_gate" for i in profile.checklist):
        bps = (await readings_repo.bp_in_force(db, [session.id])).get(session.id, [])
    return items_out(session, profile.checklist, entries, bps, tz)


async def get(db: AsyncSession, session_id: int, tz: ZoneInfo) -> ChecklistOut:
    return await state(db, await _session(db, session_id), tz)


async def answer(
    db: AsyncSession,
    session_id: int,
    key: str,
    body: ChecklistAnswer,
    actor: audit.Actor,
    tz: ZoneInfo,
) -> ChecklistOut:
    session = await _session(db, session_id, lock=True)
    if session.status != "active":
        raise RecordConflict(f"Session {session_id} has ended")
    profile = (await Profiles.load(db, [session.protocol])).at(
        session.protocol, entered_at(session)
    )
    item = next((i for i in profile.checklist if i.key == key), None)
    if item is None:
        raise RecordNotFound(f"The {session.protocol} checklist has no item {key!r}")
    entries = await repository.checklist_entries(db, session_id)
    entry = entries.get(key) or ChecklistEntry(session_id=session_id, item_key=key)
    if item.kind == "bp_gate":
        for field in ("decision", "clinician", "reason"):
            if getattr(body, field) is None:
                raise RecordInvalid(
                    ("body", field), "the BP gate needs a clinician's decision, name and reason"
                )
        bp = predose_bp(
            session, (await readings_repo.bp_in_force(db, [session_id])).get(session_id, [])
        )
        if bp is None:
            raise RecordConflict("No pre-dose BP recorded yet: there is nothing to decide on")
        entry.decision, entry.clinician, entry.reason = body.decision, body.clinician, body.reason
        entry.bp_sbp, entry.bp_dbp = bp.sbp, bp.dbp
        entry.done = body.decision == "proceed"
    else:
        if body.medications is not None and key != MEDICATIONS_ITEM:
            raise RecordInvalid(
                ("body", "medications"), f"only the {MEDICATIONS_ITEM} item takes medications"
            )
        if body.done is None and body.medications is None:
            raise RecordInvalid(("body", "done"), "send done: true or false")
        if body.decision is not None:
            raise RecordInvalid(("body", "decision"), "only the BP gate takes a decision")
        if body.medications is not None:  # alone: the tick and its note stay as they are
            entry.medications = {str(k): v for k, v in body.medications.items()}
        if body.done is not None:
            entry.done = body.done
    if item.kind == "bp_gate" or body.done is not None:
        entry.note = body.note
    entry.by_name = actor.name
    entry.at = utcnow()
    db.add(entry)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="checklist.answer",
        entity="session",
        entity_id=session_id,
        detail={
            "item": key,
            **body.model_dump(exclude_none=True),
            **({"bp": [entry.bp_sbp, entry.bp_dbp]} if item.kind == "bp_gate" else {}),
        },
    )
    entries[key] = entry
    bps = (await readings_repo.bp_in_force(db, [session_id])).get(session_id, [])
    return items_out(session, profile.checklist, entries, bps, tz)
