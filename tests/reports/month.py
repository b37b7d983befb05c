"""A busy clinic's month written straight into a server's database, for scale.

The known history (history.py) checks every figure through the API; a month
of it cannot be lived through in a test. This writes one: 24 rooms, four
sessions a day each, alarms at a few per patient-hour with the outcomes a
ward sees (answered within a minute or so, nuisance candidates, unanswered,
escalated, silenced), their log rows, and nurses' limit changes, into the
tables exactly as the service writes them. `Month` keeps what was written, so
a test can work out the figures the report must give.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from vitalwatch.models import Alarm, AlarmLogEntry, AuditEntry, Patient, Session
from vitalwatch.sessions.thresholds import DEFAULT_THRESHOLDS

PROTOCOLS = ("ketamine-iv", "esketamine-in", "ketamine-im")
#: (rule, its conditions, weight)
PROBLEMS: list[tuple[str, list[str], float]] = [
    ("bp", ["sbp_high"], 0.25),
    ("bp", ["sbp_high", "dbp_high"], 0.08),
    ("spo2", ["spo2_low"], 0.22),
    ("hr", ["hr_high"], 0.12),
    ("hr", ["hr_low"], 0.04),
    ("rr", ["rr_low"], 0.09),
    ("monitor:{dev}", ["no_signal:spo2"], 0.15),
    ("monitor:{dev}", ["offline"], 0.03),
    ("bp_overdue", ["bp_overdue"], 0.02),
]
#: (metric, limit, new value, reason) of the limit changes nurses make
CHANGES: list[tuple[str, str, float | None, str | None]] = [
    ("spo2", "low", 90, "COPD, usual SpO2 90-92%"),
    ("hr", "high", 130, None),
    ("sbp", "high", 170, "known hypertension"),
    ("spo2", "for_s", 30, "motion artefacts"),
    ("spo2", "low", None, "probe keeps slipping"),
]


@dataclass
class SeededAlarm:
    protocol: str
    rule: str  # the report's rule ("monitor", not "monitor:3")
    conditions: list[str]
    raised_at: datetime
    ack_delay_s: float | None
    escalated: bool
    nuisance: bool
    unanswered: bool


@dataclass
class Month:
    since: date
    until: date
    sessions: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    alarms: list[SeededAlarm] = field(default_factory=list)
    changes: int = 0


def _outcome(rng: random.Random) -> str:
    return rng.choices(
        ["acked", "nuisance", "silenced", "self", "escalated_acked", "escalated_open"],
        [0.52, 0.22, 0.04, 0.10, 0.08, 0.04],
    )[0]


def _alarm(
    rng: random.Random, sid: int, dev: int, t: datetime, end: datetime
) -> tuple[dict[str, Any], list[tuple[str, float, str | None]], SeededAlarm]:
    """One alarm row, its log (action, seconds after the raise, user), its facts."""
    rule, conditions, _ = rng.choices(PROBLEMS, [p[2] for p in PROBLEMS])[0]
    rule = rule.format(dev=dev)
    kind = "technical" if rule.startswith("monitor") or rule == "bp_overdue" else "physiological"
    outcome = _outcome(rng)
    log: list[tuple[str, float, str | None]] = [("raised", 0.0, None)]
    ack: float | None = None
    escalated_at: float | None = None
    if outcome == "acked":
        ack = min(rng.lognormvariate(3.0, 0.8), 58.0)
        resolved = ack + rng.uniform(30, 600)
    elif outcome == "nuisance":
        resolved = rng.uniform(4, 30)
    elif outcome == "silenced":
        log.append(("silenced", 3.0, "nurse"))
        resolved = rng.uniform(5, 30)
    elif outcome == "self":
        resolved = rng.uniform(35, 400)
    elif outcome == "escalated_acked":
        escalated_at, ack = 60.0, rng.uniform(65, 240)
        resolved = ack + rng.uniform(30, 300)
    else:  # escalated, still unanswered when the session ends
        escalated_at, resolved = 60.0, float("inf")
    by: str | None = None
    close = (end - t).total_seconds()
    if resolved >= close:  # the end of the session closed it, in the nurse's name
        resolved, by = close, "nurse"
        ack = ack if ack is not None and ack < close else None
        escalated_at = escalated_at if escalated_at is not None and escalated_at < close else None
        log = [e for e in log if e[1] < close]
    if escalated_at is not None:
        log.append(("escalated", escalated_at, None))
    if ack is not None:
        log.append(("acknowledged", ack, "nurse"))
    log.append(("resolved", resolved, by))
    row = {
        "session_id": sid,
        "device_id": dev,
        "kind": kind,
        "metric": None,
        "rule": rule,
        "priority": "medium",
        "state": "resolved",
        "condition_active": False,
        "conditions": [{"rule": c, "metric": None} for c in conditions],
        "message": f"{rule} alarm",
        "raised_at": t,
        "alerted_at": t,
        "acked_at": None if ack is None else t + timedelta(seconds=ack),
        "acked_by": None if ack is None else "nurse",
        "escalated_at": None if escalated_at is None else t + timedelta(seconds=escalated_at),
        "resolved_at": t + timedelta(seconds=resolved),
        "resolved_by": by,
    }
    acked = ack is not None
    facts = SeededAlarm(
        protocol="",
        rule=rule.split(":")[0],
        conditions=conditions,
        raised_at=t,
        ack_delay_s=ack,
        escalated=escalated_at is not None,
        nuisance=outcome == "nuisance" and by is None,
        unanswered=not acked,
    )
    return row, log, facts


def _thresholds(metric: str, limit: str, value: float | None) -> dict[str, Any]:
    new = {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()}
    new[metric][limit] = value
    return new


async def seed_month(database_url: str, days: int = 30, rooms: int = 24, seed: int = 1) -> Month:
    """Write `days` days (ending yesterday, UTC) of a clinic with `rooms` rooms."""
    rng = random.Random(seed)
    today = datetime.now(UTC).date()
    month = Month(since=today - timedelta(days=days), until=today - timedelta(days=1))
    sessions: list[dict[str, Any]] = []
    for d in range(days):
        day = datetime.combine(month.since + timedelta(days=d), datetime.min.time(), UTC)
        for room in range(rooms):
            for slot, hour in enumerate((7.5, 10.5, 13.5, 16.5)):
                start = day + timedelta(hours=hour + rng.uniform(0, 0.5))
                end = start + timedelta(hours=rng.uniform(1.2, 2.6))
                protocol = PROTOCOLS[(room + slot + d) % len(PROTOCOLS)]
                sessions.append(
                    {"protocol": protocol, "room": f"Room {room + 1}", "status": "ended",
                     "thresholds": DEFAULT_THRESHOLDS, "started_at": start, "ended_at": end}
                )  # fmt: skip
                month.sessions.append((protocol, start, end))
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            patients = [{"ref": f"M-{i:06d}", "display_name": None} for i in range(len(sessions))]
            ids = await conn.execute(
                insert(Patient).returning(Patient.id, sort_by_parameter_order=True), patients
            )
            for s, pid in zip(sessions, ids.scalars(), strict=True):
                s["patient_id"] = pid
            sids = list(
                (
                    await conn.execute(
                        insert(Session).returning(Session.id, sort_by_parameter_order=True),
                        sessions,
                    )
                ).scalars()
            )
            alarm_rows: list[dict[str, Any]] = []
            logs: list[list[tuple[str, float, str | None]]] = []
            audit: list[dict[str, Any]] = []
            for sid, (protocol, start, end) in zip(sids, month.sessions, strict=True):
                hours = (end - start).total_seconds() / 3600
                for _ in range(_poisson(rng, 2.4 * hours)):
                    t = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))
                    row, log, facts = _alarm(rng, sid, 1000 + sid % 24, t, end)
                    facts.protocol = protocol
                    alarm_rows.append(row)
                    logs.append(log)
                    month.alarms.append(facts)
                if rng.random() < 0.12:
                    metric, limit, value, reason = rng.choice(CHANGES)
                    new = _thresholds(metric, limit, value)
                    audit.append(
                        {"ts": start + timedelta(minutes=rng.uniform(1, 30)), "actor_type": "user",
                         "actor_id": None, "actor_name": "nurse", "action": "session.thresholds",
                         "entity": "session", "entity_id": sid,
                         "detail": {"old": DEFAULT_THRESHOLDS, "new": new, "reason": reason}}
                    )  # fmt: skip
            aids = list(
                (
                    await conn.execute(
                        insert(Alarm).returning(Alarm.id, sort_by_parameter_order=True), alarm_rows
                    )
                ).scalars()
            )
            log_rows = [
                {"alarm_id": aid, "ts": row["raised_at"] + timedelta(seconds=after),
                 "action": action, "condition": None, "priority": "medium",
                 "message": action, "user": user}
                for aid, row, log in zip(aids, alarm_rows, logs, strict=True)
                for action, after, user in log
            ]  # fmt: skip
            await conn.execute(insert(AlarmLogEntry), log_rows)
            await conn.execute(insert(AuditEntry), audit)
            month.changes = len(audit)
            if conn.dialect.name == "postgresql":
                await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return month


async def seed_flood(database_url: str, alarms: int) -> date:
    """One session yesterday (UTC) with `alarms` alarms: more than a report reads."""
    start = datetime.combine(
        datetime.now(UTC).date() - timedelta(days=1), datetime.min.time(), UTC
    ) + timedelta(hours=8)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            pid = (
                await conn.execute(
                    insert(Patient).returning(Patient.id), {"ref": "FLOOD", "display_name": None}
                )
            ).scalar_one()
            sid = (
                await conn.execute(
                    insert(Session).returning(Session.id),
                    {
                        "patient_id": pid,
                        "protocol": "ketamine-iv",
                        "status": "ended",
                        "thresholds": DEFAULT_THRESHOLDS,
                        "started_at": start,
                        "ended_at": start + timedelta(hours=2),
                    },
                )
            ).scalar_one()
            row = {"session_id": sid, "kind": "physiological", "rule": "spo2",
                   "priority": "medium", "state": "resolved", "message": "SpO2 alarm",
                   "conditions": []}  # fmt: skip
            for first in range(0, alarms, 20_000):
                await conn.execute(
                    insert(Alarm),
                    [{**row, "raised_at": start + timedelta(milliseconds=i),
                      "alerted_at": start + timedelta(milliseconds=i)}
                     for i in range(first, min(alarms, first + 20_000))],
                )  # fmt: skip
    finally:
        await engine.dispose()
    return start.date()


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: enough for the few alarms of one session."""
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
