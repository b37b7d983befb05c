"""Record profiles: each protocol's checklist, observation interval and discharge
margins. Built-in defaults until a clinic admin saves a version; a session
follows the version in force when it started."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.records import repository
from vitalwatch.records.models import RecordProfile
from vitalwatch.records.schemas import ChecklistItemDef, RecordProfileIn, RecordProfileOut
from vitalwatch.sessions.models import Session
from vitalwatch.vitals import PROTOCOLS

_COMMON = (
    ChecklistItemDef(key="consent", label="Consent on file"),
    ChecklistItemDef(key="contraindications", label="Contraindications reviewed"),
    ChecklistItemDef(
        key="concomitant_medications",
        label="Concomitant medications reviewed (benzodiazepines, other sedatives, "
        "psychostimulants, MAOIs, opioids)",
    ),
    ChecklistItemDef(key="baseline_vitals", label="Baseline vitals captured"),
    ChecklistItemDef(key="transport_home", label="Transport home arranged (no driving today)"),
)
_BP_GATE = ChecklistItemDef(
    key="bp_gate",
    label="Pre-dose BP at or below 140/90, or a clinician's decision to proceed",
    kind="bp_gate",
)


def default_profile(protocol: str) -> RecordProfileOut:
    items = [*_COMMON, _BP_GATE] if protocol == "esketamine-in" else list(_COMMON)
    return RecordProfileOut(
        protocol=protocol,
        checklist=items,
        version=None,
        created_at=None,
        created_by=None,
    )


def _out(row: RecordProfile) -> RecordProfileOut:
    return RecordProfileOut.model_validate(
        {
            "protocol": row.protocol,
            "checklist": row.checklist,
            "observation_interval_min": row.observation_interval_min,
            "sbp_margin": row.sbp_margin,
            "dbp_margin": row.dbp_margin,
            "hr_margin": row.hr_margin,
            "quiet_min": row.quiet_min,
            "bp_max_age_min": row.bp_max_age_min,
            "version": row.id,
            "created_at": row.created_at,
            "created_by": row.created_by,
        }
    )


def entered_at(session: Session) -> datetime:
    """When the session was entered: its profile is the one in force then (a session
    entered with an earlier `started_at` does not go back to an older profile)."""
    return session.recorded_at or session.started_at


class Profiles:
    """Every version of some protocols, to pick the one in force at a time."""

    def __init__(self, rows: Sequence[RecordProfile]) -> None:
        self._rows = rows

    @classmethod
    async def load(cls, db: AsyncSession, protocols: Iterable[str]) -> Profiles:
        return cls(await repository.profile_versions(db, set(protocols)))

    def at(self, protocol: str, when: datetime | None) -> RecordProfileOut:
        """The version saved last at or before `when` (None: the newest)."""
        chosen = None
        for row in self._rows:
            if row.protocol == protocol and (when is None or row.created_at <= when):
                chosen = row
        return default_profile(protocol) if chosen is None else _out(chosen)


async def current(db: AsyncSession, protocol: str) -> RecordProfileOut:
    return (await Profiles.load(db, [protocol])).at(protocol, None)


async def all_current(db: AsyncSession) -> list[RecordProfileOut]:
    profiles = await Profiles.load(db, PROTOCOLS)
    return [profiles.at(p, None) for p in PROTOCOLS]


async def save(
    db: AsyncSession, protocol: str, body: RecordProfileIn, actor: audit.Actor
) -> RecordProfileOut:
    """A new version, for sessions started from now on (audited with old and new)."""
    old = await current(db, protocol)
    row = RecordProfile(protocol=protocol, created_by=actor.name, **body.model_dump(mode="json"))
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="record_profile.save",
        entity="record_profile",
        entity_id=row.id,
        detail={
            "protocol": protocol,
            "old": old.model_dump(mode="json", include=set(RecordProfileIn.model_fields)),
            "new": body.model_dump(mode="json"),
        },
    )
    return _out(row)
