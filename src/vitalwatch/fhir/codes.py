"""FHIR R4 codings: LOINC and IEEE 11073 MDC side by side, UCUM units
(docs/clinical-defaults.md "Codes for interoperability")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

LOINC: Final = "http://loinc.org"
MDC: Final = "urn:iso:std:iso:11073:10101"
UCUM: Final = "http://unitsofmeasure.org"
#: The service's own observation codes, published as CodeSystem/vitalwatch-observation.
LOCAL: Final = "urn:vitalwatch:observation"
LOCAL_ID: Final = "vitalwatch-observation"
REF_SYSTEM: Final = "urn:vitalwatch:patient-ref"
USER_SYSTEM: Final = "urn:vitalwatch:user"
HL7_ID_SYSTEM: Final = "urn:vitalwatch:device-hl7-id"
CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
PROFILE: Final = "http://hl7.org/fhir/StructureDefinition/"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED: Final = "http://snomed.info/sct"
PARTICIPATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


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
    category: str = "vital-signs"


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
        "exam",
    ),
    Kind(
        "cadss",
        "Clinician-Administered Dissociative States Scale (CADSS) total",
        (Code(LOCAL, "cadss", "CADSS total score"),),
        None,
        None,
        "cadss",
        "exam",
    ),
    Kind(
        "dissociation",
        "Dissociation (none, mild, moderate, severe)",
        (Code(LOCAL, "dissociation", "Dissociation severity"),),
        None,
        None,
        "dissociation",
        "exam",
    ),
)
ALL: Final = {k.key: k for k in (*VITALS, *NURSING)}


CATEGORIES: Final = {
    "vital-signs": Code(CATEGORY, "vital-signs", "Vital Signs"),
    "exam": Code(CATEGORY, "exam", "Exam"),
}


def _matches(c: Code, system: str | None, code: str) -> bool:
    """A token matches "code" (any system), "system|code", "system|" (any code)
    and "|code" (a code without a system: none of ours)."""
    if system is None:
        return c.code == code
    return c.system == system and (not code or c.code == code)


def _split(token: str) -> tuple[str | None, str]:
    system, bar, code = token.rpartition("|")
    return (system if bar else None), code


def kinds_for(token: str) -> set[str]:
    """The kinds a `code` search token names (a BP component's code finds its panel)."""
    system, code = _split(token)
    found = {k.key for k in ALL.values() for c in k.codes if _matches(c, system, code)}
    if any(_matches(c, system, code) for _, loinc, mdc in BP_PARTS for c in (loinc, mdc)):
        found.add("bp")
    return found


def kinds_in(token: str) -> set[str]:
    """The kinds a `category` search token names."""
    system, code = _split(token)
    return {k.key for k in ALL.values() if _matches(CATEGORIES[k.category], system, code)}
