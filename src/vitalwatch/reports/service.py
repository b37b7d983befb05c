"""The alarm-load report and the limit changes for a range of the clinic's days.

What a clinic tunes its limits with: per day, protocol or rule (and each
rule's conditions), alarms per monitored patient-hour, time to acknowledge,
alarms nobody answered, escalations, nuisance candidates; and the limit
changes nurses made. Reads are bounded (at most `MAX_DAYS` days, and a range
with more than `MAX_ALARMS` alarms is refused), figures come from
reports/figures.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.errors import Refused
from vitalwatch.reports import figures as fig
from vitalwatch.reports import limits, repository
from vitalwatch.reports.schemas import (
    AlarmLoadReport,
    AlarmLoadRow,
    GroupBy,
    LimitChangesReport,
)
from vitalwatch.reports.words import condition_label, rule_label
from vitalwatch.vitals import PROFILES, PROTOCOLS, Protocol

MAX_DAYS: Final = 92
MAX_ALARMS: Final = 100_000
MAX_CHANGES: Final = 2000
DEFAULT_DAYS: Final = 7
#: The days a report can be about (a date outside is a typing error).
FIRST_DAY: Final = date(2000, 1, 1)
LAST_DAY: Final = date(2999, 12, 31)


class ReportError(Refused):
    """A report that cannot be made as asked; the message says what to change."""


class BadRange(ReportError):
    pass


class TooManyAlarms(ReportError):
    pass


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days of the clinic, `since` to `until` included."""

    since: date
    until: date
    zone: ZoneInfo

    @classmethod
    def of(cls, since: date | None, until: date | None, zone: ZoneInfo, now: datetime) -> Period:
        """The days asked for; by default the last 7 days, today included."""
        until = until or now.astimezone(zone).date()
        if not FIRST_DAY <= until <= LAST_DAY:  # before the default since is counted back
            raise BadRange(f"until ({until}) is not a day from {FIRST_DAY} to {LAST_DAY}")
        since = since or until - timedelta(days=DEFAULT_DAYS - 1)
        for name, day in (("since", since), ("until", until)):
            if not FIRST_DAY <= day <= LAST_DAY:
                raise BadRange(f"{name} ({day}) is not a day from {FIRST_DAY} to {LAST_DAY}")
        if since > until:
            raise BadRange(f"since ({since}) is after until ({until})")
        days = (until - since).days + 1
        if days > MAX_DAYS:
            raise BadRange(f"{days} days asked for; a report covers at most {MAX_DAYS} days")
        return cls(since, until, zone)

    @property
    def start(self) -> datetime:
        return fig.local_midnight(self.since, self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return fig.local_midnight(self.until + timedelta(days=1), self.zone).astimezone(UTC)


def _epoch(values: Sequence[datetime | None], default: float = np.nan) -> fig.F64:
    return np.array([default if v is None else v.timestamp() for v in values], dtype=np.float64)


def _facts(
    rows: Sequence[Any],
    actions: dict[int, Any],
    conditions: dict[int, frozenset[str]],
    bounds: fig.F64,
) -> fig.AlarmFacts:
    acted = [actions.get(int(r.id)) for r in rows]
    first_ack = _epoch([a.first_ack if a is not None else None for a in acted])
    silenced = np.array([a is not None and a.silenced > 0 for a in acted], dtype=bool)
    escalated = np.array([a is not None and a.escalated > 0 for a in acted], dtype=bool)
    raised = _epoch([r.raised_at for r in rows])
    resolved = _epoch([r.resolved_at for r in rows])
    closed = np.array([r.state == "resolved" for r in rows], dtype=bool)
    acked = ~np.isnan(first_ack)
    by_user = np.array([r.resolved_by is not None for r in rows], dtype=bool)
    return fig.AlarmFacts(
        day=fig.day_of(raised, bounds),
        protocol=np.array([r.protocol for r in rows], dtype=np.str_),
        rule=np.array([fig.problem_of(r.rule) for r in rows], dtype=np.str_),
        conditions=[conditions.get(int(r.id), frozenset()) for r in rows],
        ack_delay_s=fig.ack_delays(_epoch([r.alerted_at for r in rows]), raised, first_ack),
        escalated=escalated,
        unanswered=closed & ~acked,
        nuisance=closed & fig.nuisance_of(raised, resolved, by_user, acked, silenced),
        open=~closed,
    )


def _row(facts: fig.AlarmFacts, mask: fig.B, hours: fig.F64, **key: Any) -> AlarmLoadRow:
    """One row: `hours` is the sessions-by-days matrix of the group's monitored time."""
    total = float(hours.sum())
    f = fig.figures(facts, mask)
    return AlarmLoadRow(
        **key,
        sessions=int((hours.sum(axis=1) > 0).sum()),
        monitored_hours=round(total, 3),
        alarms=f.alarms,
        alarms_per_patient_hour=fig.per_hour(f.alarms, total),
        acknowledged=f.acknowledged,
        ack_median_s=f.ack_median_s,
        ack_p90_s=f.ack_p90_s,
        unanswered=f.unanswered,
        escalated=f.escalated,
        nuisance=f.nuisance,
        open=f.open,
    )


def _by_rule(facts: fig.AlarmFacts, hours: fig.F64) -> list[AlarmLoadRow]:
    """Each problem, most alarms first, followed by its conditions (most first)."""
    out: list[AlarmLoadRow] = []
    counts = Counter(facts.rule.tolist())
    for rule in sorted(counts, key=lambda r: (-counts[r], r)):
        mask = facts.rule == rule
        out.append(_row(facts, mask, hours, rule=rule, label=rule_label(rule)))
        inside = Counter(c for i in np.flatnonzero(mask) for c in facts.conditions[i])
        for condition, _ in sorted(inside.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(
                _row(
                    facts,
                    facts.with_condition(mask, condition),
                    hours,
                    rule=rule,
                    condition=condition,
                    label=condition_label(condition),
                )
            )
    return out


async def alarm_load(
    db: AsyncSession,
    period: Period,
    protocol: Protocol | None,
    group_by: GroupBy,
    now: datetime,
) -> AlarmLoadReport:
    start, end = period.start, period.end
    days, bounds = fig.day_bounds(period.since, period.until, period.zone)
    sessions = await repository.sessions_overlapping(db, start, end, protocol)
    hours = fig.overlap_hours(
        _epoch([s.started_at for s in sessions]),
        _epoch([s.ended_at for s in sessions], default=now.timestamp()),
        bounds,
    )
    rows = await repository.alarms_raised(db, start, end, protocol, MAX_ALARMS + 1)
    if len(rows) > MAX_ALARMS:
        raise TooManyAlarms(
            f"more than {MAX_ALARMS} alarms were raised from {period.since} to "
            f"{period.until}: ask for fewer days"
        )
    actions = {int(a.alarm_id): a for a in await repository.alarm_actions(db, start, end, protocol)}
    conditions = (
        await repository.alarm_conditions(db, start, end, protocol) if group_by == "rule" else {}
    )
    facts = _facts(rows, actions, conditions, bounds)
    everything = np.ones(facts.size, dtype=bool)
    out: list[AlarmLoadRow]
    if group_by == "day":
        out = [
            _row(facts, facts.day == i, hours[:, i : i + 1], day=d, label=d.isoformat())
            for i, d in enumerate(days)
        ]
    elif group_by == "protocol":
        of_session = np.array([s.protocol for s in sessions], dtype=np.str_)
        present = set(of_session.tolist()) | set(facts.protocol.tolist())
        out = [
            _row(
                facts,
                facts.protocol == p,
                hours[of_session == p],
                protocol=p,
                label=PROFILES[p].label if p in PROFILES else p,
            )
            for p in PROTOCOLS
            if p in present
        ]
    else:
        out = _by_rule(facts, hours)
    return AlarmLoadReport(
        since=period.since,
        until=period.until,
        timezone=period.zone.key,
        protocol=protocol,
        group_by=group_by,
        generated_at=now,
        totals=_row(facts, everything, hours, label="All"),
        rows=out,
    )


async def limit_changes(
    db: AsyncSession,
    period: Period,
    protocol: Protocol | None,
    max_sustain_s: float,
    now: datetime,
) -> LimitChangesReport:
    rows = await repository.threshold_changes(
        db, period.start, period.end, protocol, MAX_CHANGES + 1
    )
    changes = [limits.change_of(r, max_sustain_s) for r in rows[:MAX_CHANGES]]
    return LimitChangesReport(
        since=period.since,
        until=period.until,
        timezone=period.zone.key,
        protocol=protocol,
        generated_at=now,
        changes=changes,
        summary=limits.summary(changes),
        truncated=len(rows) > MAX_CHANGES,
    )
