"""The reports as CSV for a spreadsheet: one line per row, a header first.

Free text (a reason, a room, a user name) that a spreadsheet would read as a
formula (starting with =, +, -, @) is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, Final

from vitalwatch.reports.schemas import AlarmLoadReport, LimitChangesReport

ALARM_LOAD_COLUMNS: Final = (
    "day",
    "protocol",
    "rule",
    "condition",
    "label",
    "sessions",
    "monitored_hours",
    "alarms",
    "alarms_per_patient_hour",
    "acknowledged",
    "ack_median_s",
    "ack_p90_s",
    "unanswered",
    "escalated",
    "nuisance",
    "open",
)
LIMIT_CHANGE_COLUMNS: Final = (
    "at",
    "user",
    "session_id",
    "room",
    "protocol",
    "metric",
    "limit",
    "old",
    "new",
    "change",
    "reason",
    "switched_off",
    "switched_on",
)
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, str) and v.startswith(_FORMULA):
        return "'" + v
    return v


def _csv(header: Iterable[str], lines: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for line in lines:
        writer.writerow([_cell(v) for v in line])
    return buffer.getvalue()


def alarm_load_csv(report: AlarmLoadReport) -> str:
    """The report's rows, then its totals (label "All")."""
    rows = [*report.rows, report.totals]
    return _csv(
        ALARM_LOAD_COLUMNS,
        ([getattr(r, c) for c in ALARM_LOAD_COLUMNS] for r in rows),
    )


def limit_changes_csv(report: LimitChangesReport) -> str:
    """One line per limit changed (a change of several limits has several lines)."""

    def lines() -> Iterable[list[Any]]:
        for c in report.changes:
            head = [c.at.isoformat(), c.user, c.session_id, c.room, c.protocol]
            tail = [c.reason, "; ".join(c.switched_off), "; ".join(c.switched_on)]
            if not c.changes:  # the limits were sent unchanged
                yield [*head, None, None, None, None, None, *tail]
            for item in c.changes:
                yield [*head, item.metric, item.limit, item.old, item.new, item.label, *tail]

    return _csv(LIMIT_CHANGE_COLUMNS, lines())
