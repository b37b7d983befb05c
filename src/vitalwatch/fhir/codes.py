"""FHIR R4 codings: LOINC and IEEE 11073 MDC side by side, UCUM units
(docs/clinical-defaults.md "Codes for interoperability")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

LOINC: Final = "http://loinc.org"
MDC: Final = "urn:iso:std:iso:11073:10101"
UCUM: Final = "http://unitsofmeasure.org"
LOCAL: Final = "urn:vitalwatch:observation"
REF_SYSTEM: Final = "urn:vitalwatch:patient-ref"
CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
PROFILE: Final = "http://hl7.org/fhir/StructureDefinition/"


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str


@dataclass(frozen=True)
class Kind:
    """One kind of exported Observation."""

    key: str  # also the id suffix: r<reading id>-<key>, o<observation id>-<key>
    text: str
    codes: tuple[Code, ...]
    profile: str | None
    unit: str | None = None  # UCUM
    column: str | None = None  # the readings or observations column


VITALS: Final[tuple[Kind, ...]] = (
    Kind(
        "hr",
        "Heart rate",
        (Code(LOINC, "8867-4", "Heart rate"), Code(MDC, "147842", "MDC_ECG_HEART_RATE")),
        "heartrate",
        "/min",
        "hr",
    ),
    Kind(
        "bp",
        "Blood pressure panel",
        (
            Code(LOINC, "85354-9", "Blood pressure panel with all children optional"),
            Code(MDC, "150020", "MDC_PRESS_BLD_NONINV"),
        ),
        "bp",
        None,
        "sbp",
    ),
    Kind(
        "map",
        "Mean blood pressure",
        (
            Code(LOINC, "8478-0", "Mean blood pressure"),
            Code(MDC, "150023", "MDC_PRESS_BLD_NONINV_MEAN"),
        ),
        "vitalsigns",
        "mm[Hg]",
        "map",
    ),
    Kind(
        "spo2",
        "Oxygen saturation",
        (
            Code(LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
            Code(LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
            Code(MDC, "150456", "MDC_PULS_OXIM_SAT_O2"),
        ),
        "oxygensat",
        "%",
        "spo2",
    ),
    Kind(
        "rr",
        "Respiratory rate",
        (Code(LOINC, "9279-1", "Respiratory rate"), Code(MDC, "151562", "MDC_RESP_RATE")),
        "resprate",
        "/min",
        "rr",
    ),
)
BP_PARTS: Final = (
    (
        "sbp",
        Code(LOINC, "8480-6", "Systolic blood pressure"),
        Code(MDC, "150021", "MDC_PRESS_BLD_NONINV_SYS"),
    ),
    (
        "dbp",
        Code(LOINC, "8462-4", "Diastolic blood pressure"),
        Code(MDC, "150022", "MDC_PRESS_BLD_NONINV_DIA"),
    ),
)
NURSING: Final[tuple[Kind, ...]] = (
    Kind(
        "moass",
        "Modified Observer's Assessment of Alertness/Sedation (MOAA/S)",
        (Code(LOCAL, "moass", "MOAA/S score"),),
        None,
        None,
        "moass",
    ),
    Kind(
        "cadss",
        "Clinician-Administered Dissociative States Scale (CADSS) total",
        (Code(LOCAL, "cadss", "CADSS total score"),),
        None,
        None,
        "cadss",
    ),
    Kind(
        "dissociation",
        "Dissociation (none, mild, moderate, severe)",
        (Code(LOCAL, "dissociation", "Dissociation severity"),),
        None,
        None,
        "dissociation",
    ),
)
ALL: Final = {k.key: k for k in (*VITALS, *NURSING)}


def kinds_for(token: str) -> set[str]:
    """The kinds a `code` search token names: "system|code" or a bare code."""
    system, _, code = token.rpartition("|")
    found = {
        k.key
        for k in ALL.values()
        for c in k.codes
        if c.code == code and (not system or c.system == system)
    }
    for _, loinc, mdc in BP_PARTS:  # a component's code finds its panel
        if any(c.code == code and (not system or c.system == system) for c in (loinc, mdc)):
            found.add("bp")
    return found
