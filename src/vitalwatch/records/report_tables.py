"""The report's tables as plain rows (head, rows, flagged rows), so that the
HTML report and its PDF print the same content from one definition."""

from __future__ import annotations

from dataclasses import dataclass, field

from vitalwatch.records.report import Report
from vitalwatch.records.text import num


@dataclass
class Table:
    head: list[str]
    rows: list[list[str]]
    flagged: list[bool] = field(default_factory=list)
    empty: str = ""  # said instead of a table without rows


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def doses(r: Report) -> Table:
    rows = []
    for e, d in r.doses:
        infusion = (
            f"{r.t(d.infusion_start)}-{r.t(d.infusion_stop) or 'no stop recorded'}"
            if d.route == "iv_infusion"
            else ""
        )
        checklist = (
            "complete"
            if d.checklist_complete
            else f"Checklist incomplete ({'; '.join(d.checklist_missing)}). "
            f"Override: {d.override_reason or 'no reason given'}"
        )
        rows.append(
            [
                r.t(e.ts),
                r.dose_text(d),
                d.lot_number or "not recorded",
                r.staff.of_id(e.created_by) or "not recorded",
                infusion,
                checklist,
            ]
        )
    if len(rows) > 1 and (total := r.dose_total):
        rows.append(["", f"Session total: {total}", "", "", "", ""])
    return Table(
        ["Time", "Dose", "Lot", "Given by", "Infusion", "Checklist"],
        rows,
        [not d.checklist_complete for _, d in r.doses],
        "No dose recorded.",
    )


def vitals(r: Report) -> Table:
    def cell(row_values: dict[str, tuple[float, float, float]], metric: str) -> str:
        if metric not in row_values:
            return ""
        last, low, high = row_values[metric]
        return f"{num(last)} ({num(low)}-{num(high)})" if low != high else num(last)

    rows = [
        [
            f"{r.t(v.start)}-{r.t(v.end)}",
            cell(v.values, "hr"),
            cell(v.values, "spo2"),
            cell(v.values, "rr"),
            ", ".join(f"{num(s)}/{num(d)} at {r.t(ts)}" for ts, s, d in v.bps),
        ]
        for v in r.vitals
    ]
    m = r.clinic.vitals_interval_min
    return Table(
        [f"{m} min from", "HR /min", "SpO2 %", "RR /min", "BP mmHg (every reading)"],
        rows,
        empty="No readings stored.",
    )


def alarms(r: Report) -> Table:
    rows = []
    for a in r.alarms:
        history = "; ".join(
            f"{r.t(s.ts)} {s.what}" + (f" by {s.by}" if s.by else "") for s in a.steps
        )
        ack = (
            f"{r.t(a.acked_at)} by {a.acked_by or 'unknown'} ({seconds(a.ack_s)})"
            if a.acked_at
            else "not acknowledged"
        )
        resolved = r.t(a.resolved_at) or "open"
        if a.resolved_at and a.resolved_by:
            resolved += f" by {a.resolved_by}"
        rows.append(
            [
                r.t(a.raised_at),
                a.priority + (" (escalated)" if a.escalated else ""),
                a.text,
                ack,
                history,
                resolved,
            ]
        )
    return Table(
        ["Raised", "Priority", "Alarm", "First acknowledged", "Silences, escalations", "Resolved"],
        rows,
        [a.priority == "high" for a in r.alarms],
        "No alarms.",
    )


def limit_changes(r: Report) -> Table:
    rows = [
        [r.t(c.ts), c.by or "", "; ".join(c.changes), c.reason or "no reason given"]
        for c in r.limit_changes
    ]
    rows += [
        [r.t(e.ts), r.staff.of_id(e.created_by) or "", e.detail or "", ""] for e in r.alarms_off
    ]
    rows.sort(key=lambda row: row[0])
    return Table(
        ["Time", "By", "Change", "Reason"],
        rows,
        [row[2].startswith("alarm off") for row in rows],
        "The protocol's default limits throughout; no alarm switched off.",
    )


def notes(r: Report) -> Table:
    return Table(
        ["Time", "Note", "By"],
        [[r.t(e.ts), e.detail or "", r.staff.of_id(e.created_by) or ""] for e in r.notes],
        empty="No notes on the timeline.",
    )


def signature(r: Report) -> list[tuple[str, str]]:
    """The discharge decision and who signed it off."""
    q = r.readiness
    signer = r.staff.of(q.signed_off_by)
    decision = "discharged" if q.signed_off_at else "not signed off"
    if q.override_reason:
        decision = f"discharged before the criteria were met: {q.override_reason}"
    return [
        ("Decision", decision),
        ("Left with", q.left_with or ""),
        ("Discharge note", r.discharge_note or "none"),
        ("Signed off by", signer or ""),
        ("Signed off at", f"{r.t(q.signed_off_at)} {r.zone}" if q.signed_off_at else ""),
    ]
