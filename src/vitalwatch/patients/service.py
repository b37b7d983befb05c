"""Patients: create, change (audited), search, and pick-or-create at session start.

Names, references and dates of birth stay in the database and the audit
table; logs carry the patient's database id only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.db import utcnow
from vitalwatch.errors import Conflict, NotFound
from vitalwatch.logging import get_logger
from vitalwatch.patients import repository
from vitalwatch.patients.models import Patient
from vitalwatch.patients.schemas import PatientCreate, PatientIn, PatientPatch

log = get_logger(__name__)

_IDENTITY = ("display_name", "date_of_birth", "sex")


class PatientNotFound(NotFound):
    def __init__(self, patient_id: int) -> None:
        super().__init__(f"Patient {patient_id} not found")


class PatientExists(Conflict):
    def __init__(self) -> None:
        super().__init__("A patient with this reference is already on record")


class PatientMismatch(Conflict):
    """A known reference sent with another name, date of birth or sex."""

    def __init__(self, patient_id: int, fields: list[str]) -> None:
        self.patient_id = patient_id
        self.fields = fields
        names = ", ".join(f.replace("_", " ") for f in fields)
        super().__init__(
            f"This patient reference is on record (patient {patient_id}) with another "
            f"{names}. Check the patient: pick the patient on record, correct the record "
            'first, or send "confirm_rename": true to apply the new details (audited).'
        )


def _same(field: str, stored: Any, sent: Any) -> bool:
    if field == "display_name":
        return bool(" ".join(stored.split()).casefold() == " ".join(sent.split()).casefold())
    return bool(stored == sent)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


async def _record_change(
    db: AsyncSession, patient: Patient, changes: dict[str, Any], actor: audit.Actor, action: str
) -> None:
    old = {k: _plain(getattr(patient, k)) for k in changes}
    for key, value in changes.items():
        setattr(patient, key, value)
    patient.updated_at = utcnow()
    await audit.record(
        db,
        actor=actor,
        action=action,
        entity="patient",
        entity_id=patient.id,
        detail={"old": old, "new": {k: _plain(v) for k, v in changes.items()}},
    )
    log.info("patient_changed", patient_id=patient.id, fields=sorted(changes))


async def create(db: AsyncSession, body: PatientCreate, actor: audit.Actor) -> Patient:
    if not await repository.insert_if_absent(
        db, body.ref, body.display_name, body.date_of_birth, body.sex
    ):
        raise PatientExists()
    patient = await repository.by_ref(db, body.ref)
    assert patient is not None
    await audit.record(
        db, actor=actor, action="patient.create", entity="patient", entity_id=patient.id
    )
    log.info("patient_created", patient_id=patient.id)
    return patient


async def get(db: AsyncSession, patient_id: int) -> Patient:
    patient = await repository.get(db, patient_id)
    if patient is None:
        raise PatientNotFound(patient_id)
    return patient


async def update(
    db: AsyncSession, patient_id: int, patch: PatientPatch, actor: audit.Actor
) -> Patient:
    patient = await repository.get(db, patient_id, for_update=True)
    if patient is None:
        raise PatientNotFound(patient_id)
    sent = patch.model_dump(exclude_unset=True)
    if sent.get("ref") is None:
        sent.pop("ref", None)  # the reference cannot be removed
    elif sent["ref"] != patient.ref and await repository.by_ref(db, sent["ref"]) is not None:
        raise PatientExists()
    changes = {k: v for k, v in sent.items() if getattr(patient, k) != v}
    if changes:
        await _record_change(db, patient, changes, actor, "patient.update")
    return patient


async def search(db: AsyncSession, q: str | None, limit: int) -> list[Patient]:
    return list(await repository.search(db, q, limit))


async def pick_or_create(db: AsyncSession, sent: PatientIn, actor: audit.Actor) -> Patient:
    """The patient of a session start, locked for the rest of the transaction.

    The row lock (PostgreSQL) or the write lock (SQLite) serialises two starts
    for the same patient, so the second sees what the first committed.
    Details missing on record are filled in; differing ones raise
    PatientMismatch unless `confirm_rename` is set (then applied, audited).
    """
    created = await repository.insert_if_absent(
        db, sent.ref, sent.display_name, sent.date_of_birth, sent.sex
    )
    patient = await repository.by_ref(db, sent.ref, for_update=True)
    assert patient is not None
    if created:
        await audit.record(
            db, actor=actor, action="patient.create", entity="patient", entity_id=patient.id
        )
        log.info("patient_created", patient_id=patient.id)
        return patient
    given = {k: getattr(sent, k) for k in _IDENTITY if getattr(sent, k) is not None}
    differing = [
        k
        for k, v in given.items()
        if getattr(patient, k) is not None and not _same(k, getattr(patient, k), v)
    ]
    if differing and not sent.confirm_rename:
        raise PatientMismatch(patient.id, differing)
    changes = {k: v for k, v in given.items() if getattr(patient, k) is None or k in differing}
    if changes:
        action = "patient.rename" if differing else "patient.update"
        await _record_change(db, patient, changes, actor, action)
    return patient
