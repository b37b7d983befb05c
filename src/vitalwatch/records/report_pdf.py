"""The session report as a PDF (fpdf2): the HTML report's sections in the same
order, the same SVG charts drawn as vector paths, A4 portrait."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from vitalwatch.db import from_ms
from vitalwatch.records.report import Report
from vitalwatch.records.report_html import seconds, yes_no
from vitalwatch.records.text import day, num

#: Unicode fonts (patients' names are not all Latin-1): .ci/run installs
#: fonts-liberation; DejaVu is common; else the PDF core font, text reduced to Latin-1.
_FONTS = (
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
)
FLAG = (180, 0, 0)


@cache
def _font_files() -> tuple[str, str] | None:
    return next(((r, b) for r, b in _FONTS if Path(r).is_file() and Path(b).is_file()), None)


class _Pdf(FPDF):
    def __init__(self, footer_text: str, unicode: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.unicode = unicode

    def clean(self, text: str) -> str:
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(size=8)
        self.cell(0, 6, self.clean(f"{self.footer_text} - page {self.page_no()}/{{nb}}"), align="C")


def _heading(pdf: _Pdf, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(style="B", size=12)
    pdf.cell(0, 7, pdf.clean(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(style="", size=9)


def _table(
    pdf: _Pdf,
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    flagged: Sequence[bool] = (),
) -> None:
    with pdf.table(
        col_widths=tuple(widths),
        line_height=4.6,
        text_align="LEFT",
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        first_row_as_headings=True,
    ) as table:
        table.row([pdf.clean(h) for h in head])
        for i, cells in enumerate(rows):
            style = FontFace(color=FLAG) if i < len(flagged) and flagged[i] else None
            table.row([pdf.clean(str(c)) for c in cells], style=style)


def _struck(pdf: _Pdf, r: Report) -> None:
    """Readings struck out, where they were entered: crossed out, who, when, why."""
    if not r.struck:
        return
    _heading(pdf, "Readings struck out")
    with pdf.table(
        col_widths=(16, 34, 52, 34, 54),
        line_height=4.6,
        text_align="LEFT",
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
    ) as table:
        table.row([pdf.clean(h) for h in ("Measured", "Typed in", "Reading", "Struck", "Why")])
        for x in r.struck:
            row = table.row()
            row.cell(r.t(from_ms(x.ts_ms)))
            row.cell(pdf.clean(f"{r.t(x.entered_at)} by {x.entered_by}"))
            row.cell(
                pdf.clean(f"struck out: {r.struck_values(x)}"),
                style=FontFace(emphasis="STRIKETHROUGH"),
            )
            row.cell(pdf.clean(f"{r.t(x.struck_at)} by {x.struck_by or ''}"))
            row.cell(pdf.clean(x.reason or ""))


def _text(pdf: _Pdf, text: str, flag: bool = False) -> None:
    if flag:
        pdf.set_text_color(*FLAG)
    pdf.multi_cell(0, 5, pdf.clean(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def render(r: Report) -> bytes:
    s, p, t = r.session, r.patient, r.t
    fonts = _font_files()
    pdf = _Pdf(f"Session {s.id} - {p.ref} - {r.protocol_label}", fonts is not None)
    if fonts is not None:
        pdf.add_font("body", "", fonts[0])
        pdf.add_font("body", "B", fonts[1])
        pdf.set_font("body", size=9)
    else:
        pdf.set_font("helvetica", size=9)
    pdf.set_title(f"Session report {s.id}")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font(style="B", size=16)
    pdf.cell(0, 9, "Session report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(style="", size=9)
    _text(
        pdf,
        f"{r.protocol_label} - session {s.id}"
        + (f" - {s.room}" if s.room else "")
        + f" - printed {day(r.generated_at, r.tz)} {t(r.generated_at)} ({r.tz})",
    )
    base = s.baseline or {}
    _table(
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
                f"Baseline HR {num(base.get('hr'))}, "
                f"BP {num(base.get('sbp'))}/{num(base.get('dbp'))}",
            ],
        ],
        (45, 45, 50, 50),
        [False, s.ended_early],
    )

    _heading(pdf, "Pre-dose checklist")
    items = r.checklist.items
    _table(
        pdf,
        ["Item", "Status", "By", "At"],
        [
            [i.label, i.status + (f" ({i.note})" if i.note else ""), i.by or "", t(i.at)]
            for i in items
        ],
        (70, 80, 22, 18),
        [not i.satisfied for i in items],
    )

    _heading(pdf, "Doses")
    if r.doses:
        _table(
            pdf,
            ["Time", "Dose", "Lot", "Infusion", "Checklist"],
            [
                [
                    t(e.ts),
                    r.dose_text(d),
                    d.lot_number or "not recorded",
                    f"{t(d.infusion_start)}-{t(d.infusion_stop) or 'no stop'}"
                    if d.route == "iv_infusion"
                    else "",
                    "complete"
                    if d.checklist_complete
                    else f"Checklist incomplete ({'; '.join(d.checklist_missing)}). Override: "
                    f"{d.override_reason or 'no reason given'}",
                ]
                for e, d in r.doses
            ],
            (14, 52, 24, 22, 78),
            [not d.checklist_complete for _, d in r.doses],
        )
    else:
        _text(pdf, "No dose recorded.")

    _heading(pdf, "Trends")
    for _, chart in r.charts:
        if pdf.get_y() > 230:
            pdf.add_page()
        pdf.image(io.BytesIO(chart.encode()), x=pdf.l_margin, w=185)
        pdf.ln(1)

    _heading(pdf, "Blood pressure at the checkpoints")
    _table(
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

    _heading(pdf, "Observations")
    if r.observations:
        _table(
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
                    o.created_by or "",
                ]
                for o in r.observations
            ],
            (14, 16, 28, 16, 18, 20, 56, 22),
        )
    else:
        _text(pdf, "No observations recorded.")

    _heading(pdf, "Alarms")
    if r.alarms:
        _table(
            pdf,
            ["Raised", "Priority", "Alarm", "Acknowledged by", "Time to ack.", "Resolved"],
            [
                [
                    t(a.raised_at),
                    a.priority + (" (escalated)" if a.escalated else ""),
                    a.text,
                    a.acked_by or "not acknowledged",
                    seconds(a.ack_s),
                    t(a.resolved_at) or "open",
                ]
                for a in r.alarms
            ],
            (15, 24, 76, 30, 22, 23),
            [a.priority == "high" for a in r.alarms],
        )
    else:
        _text(pdf, "No alarms.")

    _heading(pdf, "Alarm limit changes")
    if r.limit_changes:
        _table(
            pdf,
            ["Time", "By", "Change"],
            [[t(c.ts), c.by or "", "; ".join(c.changes)] for c in r.limit_changes],
            (20, 30, 140),
        )
    else:
        _text(pdf, "The protocol's default limits throughout.")

    _heading(pdf, "Discharge")
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
        [
            "Signed off",
            f"{t(q.signed_off_at)} by {q.signed_off_by}" if q.signed_off_at else "not signed off",
        ],
        ["Left with", q.left_with or ""],
    ]
    flags = [False] * len(rows)
    if q.bp_overdue_answer:
        rows.append([f"BP overdue at sign-off (last {t(q.last_bp_at)})", q.bp_overdue_answer])
        flags.append(False)
    if q.override_reason:
        rows.append(["Signed off before ready", q.override_reason])
        flags.append(True)
    if q.reasons and not q.signed_off_at:
        rows.append(["Not yet", "; ".join(q.reasons)])
        flags.append(False)
    _table(pdf, ["Criterion", "Value"], rows, (80, 110), flags)
    return bytes(pdf.output())
