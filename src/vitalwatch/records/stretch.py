"""Readiness as an interval: when the stretch in which the patient has been
clinically ready began (every criterion held but the observation time, which
the REMS question "when would the patient have been ready to leave" leaves
out). A MOAA/S below 5, a clinical alarm (until `quiet_min` after it ended) or
a BP or heart rate off baseline ends a stretch; the moment to report is the
start of the last one, up to the sign-off (or now). Read from the record, so a
round typed in late from paper counts at the time it was observed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from vitalwatch.alarms.models import Alarm
from vitalwatch.db import from_ms
from vitalwatch.readings.repository import BpReading
from vitalwatch.records.models import Observation
from vitalwatch.records.schemas import RecordProfileOut


def sedation_since(first_dose: datetime, observations: Sequence[Observation]) -> datetime | None:
    """The first MOAA/S of 5 after the last one below 5 (since the dose)."""
    start = None
    scored = sorted(
        (o for o in observations if o.moass is not None and o.ts >= first_dose),
        key=lambda o: (o.ts, o.id),
    )
    for o in scored:
        if o.moass is not None and o.moass < 5:
            start = None
        elif start is None:
            start = o.ts
    return start


def alarms_clear_since(alarms: Sequence[Alarm], quiet_min: int, at: datetime) -> datetime | None:
    """When the last clinical alarm raised by `at` ended, plus the quiet time."""
    ends = [
        a.resolved_at + timedelta(minutes=quiet_min)
        for a in alarms
        if a.raised_at <= at and a.resolved_at is not None
    ]
    return max(ends, default=None)


def bp_near_since(
    bps: Sequence[BpReading],
    baseline: dict[str, float],
    profile: RecordProfileOut,
    at: datetime,
) -> datetime | None:
    """The first BP near baseline after the last one off it (a BP before the dose
    counts until the next one; the caller starts the stretch at the dose at the earliest)."""
    start = None
    for b in bps:
        when = from_ms(b.ts_ms)
        if when > at:
            break
        if off_baseline(b, baseline, profile):
            start = None
        elif start is None:
            start = when
    return start


def off_baseline(b: BpReading, baseline: dict[str, float], profile: RecordProfileOut) -> bool:
    sbp, dbp = baseline.get("sbp"), baseline.get("dbp")
    return (sbp is not None and abs(b.sbp - sbp) > profile.sbp_margin) or (
        dbp is not None and abs(b.dbp - dbp) > profile.dbp_margin
    )


def latest(*moments: datetime | None) -> datetime | None:
    """The latest of the moments given (None when none is)."""
    return max((m for m in moments if m is not None), default=None)
