"""The REMS Patient Monitoring Form as a PDF (fpdf2, as the report): the
program's fields in its order with the answers, what each pre-filled answer
came from, the computed "vital signs acceptable" suggestion beside the
clinician's answer, and the form's status; times in the clinic's zone."""

from __future__ import annotations

from vitalwatch.records.pdf_doc import heading, new, table, text
from vitalwatch.records.report import Report
from vitalwatch.records.schemas import RemsField, RemsFormOut
from vitalwatch.records.text import day, hm


def _answer(f: RemsField) -> str:
    if f.value in (None, ""):
        return "TO COMPLETE" if f.gap else "-"
    value = str(f.value)
    return f"{value} mg" if f.key == "dose_other_mg" else value


def _basis(f: RemsField) -> str:
    notes = []
    if f.source and f.value == f.prefilled:
        notes.append(f"from the record: {f.source}")
    elif f.source:
        notes.append(f"entered by staff; the record said {f.prefilled} ({f.source})")
    elif f.answered:
        notes.append("entered by staff")
    if f.suggestion:
        notes.append(f"computed: {f.suggestion} ({f.suggestion_basis})")
    return "; ".join(notes)


def render(form: RemsFormOut, r: Report) -> bytes:
    s = r.session
    pdf = new(
        f"REMS Patient Monitoring Form - session {s.id} - {r.patient.ref}",
        r.zone,
        f"REMS Patient Monitoring Form, session {s.id}",
    )
    pdf.set_font(style="B", size=15)
    pdf.cell(0, 8, "SPRAVATO REMS Patient Monitoring Form", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(style="", size=9)
    if form.status == "submitted":
        status = (
            f"Marked submitted on the REMS portal by {form.submitted_by} "
            f"at {form.submitted_at_text}."
        )
    else:
        left = form.days_left if form.days_left is not None else 0
        due = f"{left} days left" if left >= 0 else f"{-left} days overdue"
        gaps = f"{len(form.gaps)} to complete" if form.gaps else "complete"
        status = f"Draft - due {form.due_date} ({due}) - {gaps}."
    text(
        pdf,
        f"{status} Printed {day(r.generated_at, r.tz)} {hm(r.generated_at, r.tz)}; "
        f"times in {r.zone}. Submit it on the REMS portal: VitalWatch sends nothing.",
        flag=bool(form.gaps),
    )
    sections: list[tuple[str, list[RemsField]]] = []
    for f in form.fields:
        if not f.needed:
            continue
        if not sections or sections[-1][0] != f.section:
            sections.append((f.section, []))
        sections[-1][1].append(f)
    for name, fields in sections:
        heading(pdf, name)
        table(
            pdf,
            ["Field", "Answer", "Basis"],
            [[f.label, _answer(f), _basis(f)] for f in fields],
            (62, 48, 80),
            [f.gap for f in fields],
        )
    heading(pdf, "Alarms during the session")
    text(pdf, "\n".join(form.alarms) or "No alarms.")
    return bytes(pdf.output())
