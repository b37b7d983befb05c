"""The SPRAVATO REMS Patient Monitoring Form's fields in the form's order, and
the answers the record gives about who and where: the patient (from the
patient record), the concomitant medications (as the nurse answered them on
the checklist), the monitoring provider (the staff profile of who signed off)
and the healthcare setting (the clinic's profile). "Vital signs acceptable" is
the clinician's answer; the record only suggests one, with the limits it used."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vitalwatch.db import from_ms
from vitalwatch.records.checklist import gate_limit
from vitalwatch.records.schemas import MEDICATIONS_ITEM
from vitalwatch.records.text import hm, num
from vitalwatch.sessions.thresholds import Thresholds

if TYPE_CHECKING:
    from vitalwatch.records.report import Report

YN = ("yes", "no")
SEX = ("Male", "Female", "Other")


@dataclass(frozen=True)
class Field:
    key: str
    section: str
    label: str
    kind: str  # choice | text | number | date
    options: tuple[str, ...] = ()
    required: bool = True


_P, _M = "Patient information", "Concomitant medication"
_H, _S = "Healthcare provider conducting patient monitoring", "Healthcare setting information"
_T, _V, _A = "Treatment session", "Monitoring of vital signs", "Adverse events"
#: form key -> checklist medication key
MEDICATIONS = {
    "med_benzodiazepines": ("benzodiazepines", "Benzodiazepines"),
    "med_sedative_hypnotics": ("sedative_hypnotics", "Non-benzodiazepine sedative hypnotics"),
    "med_psychostimulants": ("psychostimulants", "Psychostimulants"),
    "med_maois": ("maois", "Monoamine oxidase inhibitors (MAOIs)"),
}

FIELDS: tuple[Field, ...] = (
    Field("patient_first_name", _P, "First name", "text"),
    Field("patient_middle_initial", _P, "Middle initial", "text", required=False),
    Field("patient_last_name", _P, "Last name", "text"),
    Field("patient_dob", _P, "Birthdate", "date"),
    Field("patient_sex", _P, "Sex", "choice", SEX),
    *(Field(key, _M, label, "choice", YN) for key, (_, label) in MEDICATIONS.items()),
    Field("provider_first_name", _H, "First name", "text"),
    Field("provider_last_name", _H, "Last name", "text"),
    Field("provider_phone", _H, "Telephone", "text"),
    Field("provider_email", _H, "Email", "text"),
    Field("setting_name", _S, "Healthcare setting name", "text"),
    Field("setting_address1", _S, "Healthcare setting address 1", "text"),
    Field("setting_address2", _S, "Healthcare setting address 2", "text", required=False),
    Field("setting_city", _S, "City", "text"),
    Field("setting_state", _S, "State", "text"),
    Field("setting_zip", _S, "ZIP", "text"),
    Field("session_date", _T, "Treatment date", "date"),
    Field("dose", _T, "Dose administered", "choice", ("56 mg", "84 mg", "other")),
    Field("dose_other_mg", _T, "Other dose (mg)", "number"),
    Field("lot_number", _T, "Lot number", "text"),
    Field(
        "monitoring_minutes",
        _T,
        "Total time in minutes (from the first device administration to the completion "
        "of monitoring)",
        "number",
    ),
    Field(
        "ready_minutes",
        _T,
        "Without the 2-hour requirement, minutes from the start of administration when the "
        "patient would have been ready to leave",
        "number",
    ),
    Field(
        "vitals_ok_before",
        _V,
        "Vital signs in acceptable range before administration",
        "choice",
        YN,
    ),
    Field(
        "vitals_ok_end",
        _V,
        "Vital signs in acceptable range before treatment session completion",
        "choice",
        YN,
    ),
    Field("bp_before", _V, "BP before administration (mmHg, time)", "text"),
    Field("bp_40", _V, "BP 40 minutes after administration (mmHg, time)", "text"),
    Field("bp_end", _V, "BP before treatment session completion (mmHg, time)", "text"),
    Field("sedation", _A, "Sedation", "choice", YN),
    Field("dissociation", _A, "Dissociation", "choice", YN),
    Field("respiratory_depression", _A, "Respiratory depression", "choice", YN),
    Field("serious_adverse_events", _A, "Serious adverse events", "choice", YN),
    Field("serious_adverse_events_detail", _A, "Serious adverse events: describe", "text"),
)
BY_KEY = {f.key: f for f in FIELDS}
#: answered only when the answer before it asks for them
CONDITIONAL = {
    "dose_other_mg": ("dose", "other"),
    "serious_adverse_events_detail": ("serious_adverse_events", "yes"),
}


def _split(name: str) -> tuple[str, str | None, str] | None:
    """First name, middle initial and last name of "Rita M. Levi" (None for one word)."""
    parts = name.split()
    if len(parts) < 2:
        return None
    middle = parts[1][0].upper() if len(parts) == 3 else None
    return parts[0], middle, parts[-1] if len(parts) <= 3 else " ".join(parts[2:])


def identity(r: Report) -> dict[str, tuple[Any, str]]:
    """Who and where, from the records that hold them, each with its source."""
    out: dict[str, tuple[Any, str]] = {}
    p = r.patient
    if p.display_name and (names := _split(p.display_name)):
        source = f"patient record name {p.display_name!r}: check the split"
        out["patient_first_name"] = (names[0], source)
        if names[1]:
            out["patient_middle_initial"] = (names[1], source)
        out["patient_last_name"] = (names[2], source)
    if p.date_of_birth:
        out["patient_dob"] = (p.date_of_birth.isoformat(), "patient record")
    sex = {"male": "Male", "female": "Female", "other": "Other"}.get(p.sex or "")
    if sex:
        out["patient_sex"] = (sex, "patient record")
    item = next((i for i in r.checklist.items if i.key == MEDICATIONS_ITEM), None)
    if item and item.medications:
        who = f"checklist, {r.staff.of(item.by)} at {hm(item.at, r.tz)}"
        for key, (med, _) in MEDICATIONS.items():
            if med in item.medications:
                out[key] = ("yes" if item.medications[med] else "no", who)
    signer = r.staff.by_name.get(r.readiness.signed_off_by or "")
    if signer is not None:
        source = f"staff profile of {signer.username}, who signed off the discharge"
        for key, value in (
            ("provider_first_name", signer.given_name),
            ("provider_last_name", signer.family_name),
            ("provider_phone", signer.phone),
            ("provider_email", signer.email),
        ):
            if value:
                out[key] = (value, source)
    c = r.clinic
    if c.name:
        out["setting_name"] = (c.name, r.clinic_source)
    for key, value in (
        ("setting_address1", c.address1),
        ("setting_address2", c.address2),
        ("setting_city", c.city),
        ("setting_state", c.state),
        ("setting_zip", c.zip),
    ):
        if value:
            out[key] = (value, "clinic profile")
    return out


_UNITS = {"hr": "/min", "spo2": "%", "rr": "/min"}
_LABELS = {"hr": "HR", "spo2": "SpO2", "rr": "RR"}


def _judge(
    values: dict[str, tuple[int, float]],
    bp_limit: tuple[tuple[float, float], tuple[float, float]],
    limits: dict[str, tuple[float | None, float | None]],
    r: Report,
) -> tuple[str, str] | None:
    """("yes"/"no", what it looked at and the limits); None without a BP."""
    if "sbp" not in values or "dbp" not in values:
        return None
    (slo, shi), (dlo, dhi) = bp_limit
    sbp, dbp = values["sbp"][1], values["dbp"][1]
    ok = slo <= sbp <= shi and dlo <= dbp <= dhi
    parts = [
        f"BP {num(sbp)}/{num(dbp)} at {hm(from_ms(values['sbp'][0]), r.tz)} "
        f"(limits {num(slo)}-{num(shi)}/{num(dlo)}-{num(dhi)})"
    ]
    for metric in ("hr", "spo2", "rr"):
        lo, hi = limits[metric]
        bounds = (
            f"{num(lo)}-{num(hi)}"
            if lo is not None and hi is not None
            else f"at least {num(lo)}"
            if lo is not None
            else f"at most {num(hi)}"
            if hi is not None
            else "none"
        )
        if metric not in values:
            parts.append(f"no {_LABELS[metric]} reading")
            continue
        v = values[metric][1]
        ok = ok and (lo is None or v >= lo) and (hi is None or v <= hi)
        parts.append(f"{_LABELS[metric]} {num(v)}{_UNITS[metric]} (limits {bounds})")
    return ("yes" if ok else "no", "; ".join(parts))


def vitals_suggestions(r: Report) -> dict[str, tuple[str, str]]:
    """The computed "vital signs acceptable" before administration and before
    completion, from BP, HR, SpO2 and RR: the newest reading of each in the hour
    before the dose (BP against the pre-dose limit 140/90) and in the discharge
    BP's age before the end (BP and HR within the discharge margins of baseline);
    SpO2 and RR (and HR without a baseline) against the session's alarm limits."""
    limits = Thresholds.model_validate(r.session.thresholds)
    alarm = {m: (getattr(limits, m).low, getattr(limits, m).high) for m in ("hr", "spo2", "rr")}
    out: dict[str, tuple[str, str]] = {}
    sbp_max, dbp_max = gate_limit(r.session.protocol)
    before = _judge(r.before_dose, ((0, sbp_max), (0, dbp_max)), alarm, r)
    if before:
        out["vitals_ok_before"] = before
    base, q = r.session.baseline or {}, r.profile
    if r.session.ended_at or r.readiness.signed_off_at:
        end_limits = dict(alarm)
        bp: tuple[tuple[float, float], tuple[float, float]] = (
            (limits.sbp.low or 0, limits.sbp.high or 300),
            (limits.dbp.low or 0, limits.dbp.high or 200),
        )
        if base.get("sbp") is not None and base.get("dbp") is not None:
            bp = (
                (base["sbp"] - q.sbp_margin, base["sbp"] + q.sbp_margin),
                (base["dbp"] - q.dbp_margin, base["dbp"] + q.dbp_margin),
            )
        if base.get("hr") is not None:
            end_limits["hr"] = (base["hr"] - q.hr_margin, base["hr"] + q.hr_margin)
        end = _judge(r.at_end, bp, end_limits, r)
        if end:
            out["vitals_ok_end"] = end
    return out
