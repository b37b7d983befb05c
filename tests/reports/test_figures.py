"""The report's arithmetic without a server (pure functions): local days with a
DST change, sessions clipped to days, time to acknowledge, nuisance candidates.
The service reports in UTC until the clinic's zone is a setting; these fix the
arithmetic it will use in any zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from vitalwatch.reports import figures as fig
from vitalwatch.reports.service import BadRange, Period

BERLIN = ZoneInfo("Europe/Berlin")


def epoch(*args: int, zone: ZoneInfo = BERLIN) -> float:
    return datetime(*args, tzinfo=zone).timestamp()


def test_local_days_have_23_or_25_hours_at_a_dst_change() -> None:
    days, bounds = fig.day_bounds(date(2026, 3, 28), date(2026, 3, 30), BERLIN)
    assert days == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert (np.diff(bounds) / 3600).tolist() == [24, 23, 24]
    _, autumn = fig.day_bounds(date(2026, 10, 25), date(2026, 10, 25), BERLIN)
    assert (np.diff(autumn) / 3600).tolist() == [25]


def test_a_session_over_midnight_counts_on_both_days_and_only_inside_the_range() -> None:
    _, bounds = fig.day_bounds(date(2026, 3, 28), date(2026, 3, 29), BERLIN)
    start = np.array([epoch(2026, 3, 28, 22, 30), epoch(2026, 3, 27, 20), epoch(2026, 3, 30, 1)])
    end = np.array([epoch(2026, 3, 29, 4, 0), epoch(2026, 3, 28, 1), epoch(2026, 3, 30, 2)])
    hours = fig.overlap_hours(start, end, bounds)
    # 22:30-24:00 and 00:00-04:00 local, of which one hour skipped at 02:00 (DST)
    assert hours.tolist() == [[1.5, 3.0], [1.0, 0.0], [0.0, 0.0]]
    assert fig.day_of(np.array([epoch(2026, 3, 28, 23, 59), epoch(2026, 3, 29, 0, 0),
                                epoch(2026, 3, 27, 12), epoch(2026, 3, 30, 0)]),
                      bounds).tolist() == [0, 1, -1, -1]  # fmt: skip


def test_time_to_acknowledge_counts_from_the_first_alert() -> None:
    raised = np.array([100.0, 100.0, 100.0])
    alerted = np.array([101.0, 160.0, 101.0])  # the second alerted again after its ack
    first_ack = np.array([104.5, 130.0, np.nan])
    delays = fig.ack_delays(alerted, raised, first_ack)
    assert delays[:2].tolist() == [3.5, 30.0] and np.isnan(delays[2])


def test_nuisance_candidates_cleared_by_themselves_within_30_s_untouched() -> None:
    raised = np.zeros(6)
    resolved = np.array([30.0, 30.5, 10.0, 10.0, 10.0, np.nan])
    by_user = np.array([False, False, True, False, False, False])
    acked = np.array([False, False, False, True, False, False])
    silenced = np.array([False, False, False, False, True, False])
    assert fig.nuisance_of(raised, resolved, by_user, acked, silenced).tolist() == [
        True, False, False, False, False, False,
    ]  # fmt: skip


def test_every_monitor_is_one_rule() -> None:
    assert [fig.problem_of(r) for r in ("monitor:12", "bp", "no_monitor", "bp_check_due")] == [
        "monitor", "bp", "no_monitor", "bp_check_due",
    ]  # fmt: skip


def test_a_period_is_whole_local_days() -> None:
    now = datetime(2026, 3, 29, 23, 30, tzinfo=UTC)  # already the 30th in Berlin
    p = Period.of(None, None, BERLIN, now)
    assert (p.since, p.until) == (date(2026, 3, 24), date(2026, 3, 30))
    assert p.start == datetime(2026, 3, 23, 23, 0, tzinfo=UTC)
    assert p.end == datetime(2026, 3, 30, 22, 0, tzinfo=UTC)
    with pytest.raises(BadRange, match="at most 92 days"):
        Period.of(date(2026, 1, 1), date(2026, 4, 3), BERLIN, now)
    assert Period.of(date(2026, 1, 1), date(2026, 4, 2), BERLIN, now).since == date(2026, 1, 1)
    with pytest.raises(BadRange, match=r"until \(9999-12-31\) is not a day from 2000-01-01"):
        Period.of(date(2026, 1, 1), date(9999, 12, 31), BERLIN, now)
    with pytest.raises(BadRange, match=r"since \(0001-01-01\) is not a day"):
        Period.of(date(1, 1, 1), None, BERLIN, now)
