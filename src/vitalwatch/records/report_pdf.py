"""The session report as a PDF (fpdf2): the HTML report's sections in the same
order, the same SVG charts drawn as vector paths, A4 portrait; every page
names the clinic's time zone and counts "page n of m"."""

from __future__ import annotations

import io

from fpdf.fonts import FontFace

from vitalwatch.db import from_ms
from vitalwatch.records import clinic, report_tables
from vitalwatch.records.pdf_doc import Pdf, heading, new, table, text
from vitalwatch.records.report import Report
from vitalwatch.records.report_html import yes_no
from vitalwatch.records.text import baseline, day, num


def _grid(pdf: Pdf, t: report_tables.Table, widths: tuple[float, ...]) -> None:
    if t.rows:
        table(pdf, t.head, t.rows, widths, t.flagged)
    else:
        text(pdf, t.empty)


def _struck(pdf: Pdf, r: Report) -> None:
    """Readings struck out, where they were entered: crossed out, who, when, why."""
    if not r.struck:
        return
    heading(pdf, "Readings struck out")
    with pdf.table(
        col_widths=(16, 34, 52, 34, 54),
        line_height=4.6,
        text_align="LEFT",
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
    ) as grid:
        grid.row([pdf.clean(h) for h in ("Measured", "Typed in", "Reading", "Struck", "Why")])
        for x in r.struck:
            row = grid.row()
            row.cell(r.t(from_ms(x.ts_ms)))
            row.cell(pdf.clean(f"{r.t(x.entered_at)} by {x.entered_by}"))
            row.cell(
                pdf.clean(f"struck out: {r.struck_values(x)}"),
                style=FontFace(emphasis="STRIKETHROUGH"),
            )
            row.cell(pdf.clean(f"{r.t(x.struck_at)} by {x.struck_by or ''}"))
            row.cell(pdf.clean(x.reason or ""))


def render(r: Report) -> bytes:
    s, p, t = r.session, r.patient, r.t
    pdf = new(f"Session {s.id} - {p.ref} - {r.protocol_label}", r.zone, f"Session report {s.id}")
    lines = clinic.address_lines(r.clinic)
    pdf.set_font(style="B", size=11)
    text(pdf, lines[0])  # the name is always there: the profile's, or the setting's
    pdf.set_font(style="", size=9)
    if lines[1:]:
        text(pdf, ", ".join(lines[1:]))
    pdf.set_font(style="B", size=16)
    pdf.cell(0, 9, "Session report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(style="", size=9)
    text(
        pdf,
        f"{r.protocol_label} - session {s.id}"
        + (f" - {s.room}" if s.room else "")
        + f" - printed {day(r.generated_at, r.tz)} {t(r.generated_at)} - times in {r.zone}",
    )
    table(
        pdf,
        ["Patient", "Reference", "Date of birth", "Sex"],
        [
            [
                p.display_name or "(no name on record)",
                p.ref,
                str(p.date_of_birth or "not recorded"),
                p.sex or "not recorded",
            ],
            [
                "Started " + f"{day(s.started_at, r.tz)} {t(s.started_at)}",
                "First dose " + (t(s.first_dose_at) or "none"),
                "Ended "
                + (t(s.ended_at) or "still active")
                + (" (before the observation time)" if s.ended_early else ""),
                f"Baseline {baseline(s.baseline or {})}",
            ],
        ],
        (45, 45, 50, 50),
        [False, s.ended_early],
    )

    heading(pdf, "Pre-dose checklist")
    items = r.checklist.items
    table(
        pdf,
        ["Item", "Status", "Ticked by", "At"],
        [
            [
                i.label,
                i.status + (f" ({i.note})" if i.note else ""),
                r.staff.of(i.by) or "",
                t(i.at),
            ]
            for i in items
        ],
        (66, 66, 40, 18),
        [not i.satisfied for i in items],
    )

    heading(pdf, "Doses")
    _grid(pdf, report_tables.doses(r), (13, 50, 22, 35, 20, 50))

    heading(pdf, "Trends")
    for _, chart in r.charts:
        if pdf.get_y() > 230:
            pdf.add_page()
        pdf.image(io.BytesIO(chart.encode()), x=pdf.l_margin, w=185)
        pdf.ln(1)

    heading(pdf, f"Vitals every {r.clinic.vitals_interval_min} min (last value, lowest-highest)")
    _grid(pdf, report_tables.vitals(r), (26, 28, 28, 28, 80))

    heading(pdf, "Blood pressure at the checkpoints")
    table(
        pdf,
        ["Checkpoint", "Time", "Minutes after dose", "BP (mmHg)"],
        [
            [
                c.label,
                t(c.ts) or "no reading",
                str(c.minutes_after_dose) if c.ts else "",
                f"{num(c.sbp)}/{num(c.dbp)}" if c.ts else "",
            ]
            for c in r.checkpoints
        ]
        or [["No dose: no checkpoints", "", "", ""]],
        (70, 30, 40, 50),
        [c.ts is None for c in r.checkpoints],
    )

    _struck(pdf, r)

    heading(pdf, "Observations")
    if r.observations:
        table(
            pdf,
            ["Time", "MOAA/S", "Dissociation", "Nausea", "Vomiting", "Resp. depr.", "Note", "By"],
            [
                [
                    t(o.ts),
                    "" if o.moass is None else str(o.moass),
                    (o.dissociation or "") + (f" (CADSS {o.cadss})" if o.cadss is not None else ""),
                    yes_no(o.nausea),
                    yes_no(o.vomiting),
                    yes_no(o.respiratory_depression),
                    o.note or "",
                    r.staff.of(o.created_by) or "",
                ]
                for o in r.observations
            ],
            (13, 15, 26, 15, 17, 18, 52, 34),
        )
    else:
        text(pdf, "No observations recorded.")

    heading(pdf, "Nurses' notes")
    _grid(pdf, report_tables.notes(r), (15, 135, 40))

    heading(pdf, "Alarms")
    _grid(pdf, report_tables.alarms(r), (13, 20, 48, 34, 55, 20))

    heading(pdf, "Alarm limit changes and alarms switched off")
    _grid(pdf, report_tables.limit_changes(r), (15, 35, 90, 50))

    heading(pdf, "Discharge criteria")
    q = r.readiness
    rows = [
        [
            "Observation time",
            ("met" if q.observation_met else "not met")
            + (f" (until {t(q.observation_until)})" if q.observation_until else ""),
        ],
        ["Vitals near baseline", "yes" if q.vitals_near_baseline else "no"],
        ["No recent alarm", "yes" if q.no_recent_alarm else "no"],
        ["MOAA/S 5", "yes" if q.sedation_ok else "no"],
        ["Clinically ready (without the observation time)", t(q.stable_at) or "not reached"],
        ["All criteria met (without a break) from", t(q.first_ready_at) or "not reached"],
    ]
    if q.bp_overdue_answer:
        rows.append([f"BP overdue at sign-off (last {t(q.last_bp_at)})", q.bp_overdue_answer])
    if q.reasons and not q.signed_off_at:
        rows.append(["Not yet", "; ".join(q.reasons)])
    table(pdf, ["Criterion", "Value"], rows, (80, 110))

    if pdf.get_y() > 230:
        pdf.add_page()
    heading(pdf, "Discharge and sign-off")
    sign = report_tables.signature(r)
    table(
        pdf,
        ["Discharge", "As recorded"],
        [[k, v] for k, v in sign],
        (45, 145),
        [k == "Decision" and bool(q.override_reason) for k, _ in sign],
    )
    pdf.ln(8)
    pdf.cell(95, 6, "Signature: ______________________________")
    pdf.cell(0, 6, "Date and time: ____________________", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
