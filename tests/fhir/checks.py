"""What the FHIR tests ask of every resource: valid FHIR (fhir.resources; its
R4B models, the package's only R4-line release, whose resources used here match
R4's), and Observations of vital signs as the base R4 vital-signs profiles
require them (category, LOINC code, UCUM units, effective time, subject)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from tests.support import Api

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
#: base R4 profile -> the LOINC code and UCUM unit it fixes (bp: its components)
PROFILES = {
    "heartrate": ("8867-4", "/min"),
    "resprate": ("9279-1", "/min"),
    "oxygensat": ("2708-6", "%"),
    "bp": ("85354-9", None),
}
BP_PARTS = {"8480-6", "8462-4"}


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, once fhir.resources accepts it as its type; contained and
    Bundle entries are validated with it."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    if resource["resourceType"] == "Bundle":
        for entry in resource.get("entry", []):
            valid(entry["resource"])
    if resource["resourceType"] == "Observation" and "vital-signs" in _categories(resource):
        vital_signs(resource)
    return resource


def _categories(obs: dict[str, Any]) -> set[str]:
    return {c["code"] for cat in obs["category"] for c in cat["coding"] if c["system"] == CATEGORY}


def _ucum(q: dict[str, Any], unit: str | None = None) -> None:
    assert q["system"] == UCUM and isinstance(q["value"], float | int) and q["code"], q
    assert unit is None or q["code"] == unit, (q, unit)


def vital_signs(obs: dict[str, Any]) -> None:
    """The base R4 vital-signs profile (and the specific one it claims)."""
    assert obs["status"] in {"registered", "preliminary", "final", "amended"}
    assert "vital-signs" in _categories(obs)
    loinc = {c["code"] for c in obs["code"]["coding"] if c["system"] == LOINC}
    assert loinc, obs["code"]
    assert obs["subject"]["reference"].startswith("Patient/")
    assert obs.get("effectiveDateTime") or obs.get("effectivePeriod")
    claimed = {p.rsplit("/", 1)[1] for p in obs["meta"]["profile"]}
    assert "vitalsigns" in claimed
    for name in claimed & set(PROFILES):
        code, unit = PROFILES[name]
        assert code in loinc, (name, loinc)
        if unit:
            _ucum(obs["valueQuantity"], unit)
    if "component" in obs:
        parts = set()
        for c in obs["component"]:
            parts |= {x["code"] for x in c["code"]["coding"] if x["system"] == LOINC}
            _ucum(c["valueQuantity"], "mm[Hg]")
        assert parts >= BP_PARTS
    else:
        _ucum(obs["valueQuantity"])


async def fhir(api: Api, path: str, *, status: int = 200, **params: Any) -> dict[str, Any]:
    """A FHIR answer, checked: its status, application/fhir+json, a valid
    resource (an OperationOutcome when it is an error)."""
    r = await api.http.get(path, params=params, headers=await api.auth())
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json"), r.headers
    body = valid(r.json())
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome", body
    return body


async def every_page(api: Api, first: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources of a search, all pages (each page validated)."""
    pages = [first]
    while nxt := next((k["url"] for k in pages[-1]["link"] if k["relation"] == "next"), None):
        r = await api.http.get(nxt, headers=await api.auth())
        assert r.status_code == 200, r.text
        pages.append(valid(r.json()))
    return [
        e["resource"] for p in pages for e in p.get("entry", []) if e["search"]["mode"] == "match"
    ]
