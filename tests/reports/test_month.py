"""A busy clinic's month (tests/reports/month.py) through the real server on
SQLite and PostgreSQL: the report over 30 days gives the figures of what was
written, by day, protocol and rule, in seconds rather than minutes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from tests.reports.month import Month, SeededAlarm, seed_flood, seed_month
from tests.support import Api, ServerProcess
from vitalwatch.reports.service import MAX_ALARMS

pytestmark = pytest.mark.slow

#: Generous: the machine is shared; one report of a month takes about a second.
SLOW_S = 20.0


def want(alarms: list[SeededAlarm], hours: float, sessions: int) -> dict[str, Any]:
    delays = [a.ack_delay_s for a in alarms if a.ack_delay_s is not None]
    q = np.percentile(delays, [50, 90]) if delays else [None, None]
    return {
        "sessions": sessions,
        "monitored_hours": hours,
        "alarms": len(alarms),
        "acknowledged": len(delays),
        "ack_median_s": q[0],
        "ack_p90_s": q[1],
        "unanswered": sum(a.unanswered for a in alarms),
        "escalated": sum(a.escalated for a in alarms),
        "nuisance": sum(a.nuisance for a in alarms),
        "open": 0,
    }


def check(row: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if value is None or isinstance(value, int):
            assert row[key] == value, (key, row)
        else:
            assert row[key] == pytest.approx(value, abs=2e-3), (key, row)


def hours_of(month: Month, keep: Callable[[str, Any], bool]) -> tuple[float, int]:
    chosen = [(p, s, e) for p, s, e in month.sessions if keep(p, s)]
    return sum((e - s).total_seconds() for _, s, e in chosen) / 3600, len(chosen)


async def test_a_busy_month(new_server: Callable[..., ServerProcess]) -> None:
    server = new_server()
    server.start()
    month = await seed_month(str(server.database_url))
    assert len(month.alarms) > 10_000 and len(month.sessions) == 30 * 24 * 4
    api = Api(server.url)
    span = {"since": str(month.since), "until": str(month.until)}
    taken: dict[str, float] = {}

    async def get(path: str, **params: str) -> Any:
        started = time.perf_counter()
        r = await api.http.get(
            f"/api/v1/reports/{path}", params={**span, **params}, headers=await api.auth()
        )
        taken[f"{path} {params}"] = time.perf_counter() - started
        assert r.status_code == 200, r.text
        return r.json()

    try:
        by_day = await get("alarm-load", group_by="day")
        by_protocol = await get("alarm-load", group_by="protocol")
        by_rule = await get("alarm-load", group_by="rule")
        changes = await get("limit-changes")
    finally:
        await api.aclose()
    print(f"\n{len(month.alarms)} alarms, {len(month.sessions)} sessions:", taken)
    assert max(taken.values()) < SLOW_S, taken

    hours, count = hours_of(month, lambda p, s: True)
    for body in (by_day, by_protocol, by_rule):
        check(body["totals"], want(month.alarms, hours, count))
    assert len(by_day["rows"]) == 30
    for row in by_day["rows"]:
        day = [a for a in month.alarms if str(a.raised_at.date()) == row["day"]]
        check(row, want(day, *hours_of(month, lambda p, s, d=row["day"]: str(s.date()) == d)))
    for row in by_protocol["rows"]:
        of = [a for a in month.alarms if a.protocol == row["protocol"]]
        check(row, want(of, *hours_of(month, lambda p, s, q=row["protocol"]: p == q)))
    rules = Counter(a.rule for a in month.alarms)
    problems = [r for r in by_rule["rows"] if r["condition"] is None]
    assert {r["rule"]: r["alarms"] for r in problems} == dict(rules)
    for row in by_rule["rows"]:
        of = [a for a in month.alarms if a.rule == row["rule"]]
        if row["condition"] is not None:
            of = [a for a in of if row["condition"] in a.conditions]
        check(row, want(of, hours, count))

    assert changes["truncated"] is False and len(changes["changes"]) == month.changes
    assert sum(s["changes"] for s in changes["summary"]) == month.changes
    removed = next(s for s in changes["summary"] if (s["metric"], s["limit"]) == ("spo2", "low"))
    assert removed["removed"] > 0 and removed["lowered"] > 0
    assert {c["reason"] for c in changes["changes"]} >= {"probe keeps slipping", None}

    # one day of a month's alarms is read through the index, not the whole table
    day = datetime.combine(month.until, datetime.min.time(), UTC)
    query = "SELECT id FROM alarms WHERE raised_at >= :lo AND raised_at < :hi"
    sqlite = str(server.database_url).startswith("sqlite")
    explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    rows = await server.sql(explain + query, lo=day, hi=day + timedelta(days=1))
    plan = " ".join(str(r[-1] if sqlite else r[0]) for r in rows)
    assert "ix_alarms_raised_at" in plan, plan


async def test_a_day_with_more_alarms_than_a_report_reads_is_refused_in_words(
    new_server: Callable[..., ServerProcess],
) -> None:
    server = new_server()
    server.start()
    day = await seed_flood(str(server.database_url), MAX_ALARMS + 1)
    api = Api(server.url)
    try:
        r = await api.http.get(
            "/api/v1/reports/alarm-load",
            params={"since": str(day), "until": str(day)},
            headers=await api.auth(),
        )
        assert r.status_code == 422, r.text
        assert f"more than {MAX_ALARMS} alarms were raised" in r.text
        assert "ask for fewer days" in r.text
    finally:
        await api.aclose()
