"""FHIR search parameters: which a search supports, what it does with the rest
(`Prefer: handling=strict`: a 400 OperationOutcome; lenient, the default: left
out of the Bundle's self link and named in an outcome entry, never silently
dropped), and the searchset Bundle around the results."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from vitalwatch.errors import DomainError

#: ids are ASCII digits (str.isdigit() also takes "³", which int() refuses)
DIGITS = re.compile(r"[0-9]{1,19}")
DEFAULT_COUNT = 50
MAX_COUNT = 1000


class FhirError(DomainError):
    """Answered as an OperationOutcome with this HTTP status (by app.py's handler)."""

    def __init__(self, status: int, code: str, text: str, *more: str) -> None:
        super().__init__(text)
        self.status, self.code, self.texts = status, code, [text, *more]

    def diagnostics(self) -> list[str]:
        return self.texts

    def outcome(self) -> dict[str, Any]:
        return outcome("error", self.fhir_code(), self.texts)


def outcome(severity: str, code: str, texts: list[str]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": t} for t in texts],
    }


def not_found(what: str) -> FhirError:
    return FhirError(404, "not-found", f"{what} not found")


def int_id(value: str, what: str) -> int:
    """A resource id in a path: anything but a plain positive number is not found."""
    if not DIGITS.fullmatch(value) or not 0 < int(value) < 2**63:
        raise not_found(f"{what}/{value}")
    return int(value)


def reference(name: str, value: str, kind: str) -> int:
    """A reference parameter: `Kind/12` or `12`."""
    ref = value.removeprefix(f"{kind}/")
    if not DIGITS.fullmatch(ref) or not 0 < int(ref) < 2**63:
        raise FhirError(400, "invalid", f"{name}: a {kind} id, as {kind}/12 or 12")
    return int(ref)


#: What a supported parameter accepts: None (any value), or a check that says
#: why a value is not supported (then handled like an unknown parameter).
Check = Callable[[str], str | None]


def one_of(*values: str) -> Check:
    def check(value: str) -> str | None:
        return None if value in values else f"supported: {', '.join(values)}"

    return check


@dataclass
class Query:
    """The parameters of one search: those applied, and those left out."""

    values: dict[str, list[str]] = field(default_factory=dict)
    used: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def first(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[-1] if found else None

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def count(self) -> int:
        """`_count` (0: the total only), or `_summary=count`."""
        if self.first("_summary") == "count":
            return 0
        raw = self.first("_count")
        if raw is None:
            return DEFAULT_COUNT
        if not DIGITS.fullmatch(raw):
            raise FhirError(400, "invalid", f"_count={raw}: a number, 0 for the total only")
        return min(int(raw), MAX_COUNT)


def parse(given: list[tuple[str, str]], supported: dict[str, Check | None], strict: bool) -> Query:
    q = Query()
    for name, value in given:
        base, colon, modifier = name.partition(":")
        why: str | None
        if base not in supported:
            why = f"{name} is not a supported search parameter here"
        elif colon:
            why = f"{name}: the modifier :{modifier} is not supported"
        elif (check := supported[base]) is not None and (reason := check(value)) is not None:
            why = f"{name}={value} is not supported ({reason})"
        else:
            why = None
        if why is None:
            q.values.setdefault(base, []).append(value)
            if base != "_cursor":
                q.used.append((base, value))
        else:
            q.ignored.append(why)
    if strict and q.ignored:
        raise FhirError(400, "not-supported", *q.ignored)
    return q


def handling_strict(prefer: str | None) -> bool:
    """`Prefer: handling=strict` (RFC 7240 preferences, comma-separated)."""
    for pref in (prefer or "").split(","):
        key, _, value = pref.strip().partition("=")
        if key.strip().lower() == "handling" and value.strip().strip('"').lower() == "strict":
            return True
    return False


def bundle(
    base: str,
    kind: str,
    q: Query,
    total: int | None,
    resources: list[dict[str, Any]],
    next_cursor: str | None = None,
) -> dict[str, Any]:
    """A searchset: `self` lists the parameters applied; ignored ones are named in
    an OperationOutcome entry (search mode "outcome")."""
    this = list(q.used) + [("_cursor", c) for c in q.all("_cursor")]
    links = [{"relation": "self", "url": f"{base}/{kind}?{urlencode(this)}"}]
    if next_cursor is not None:
        paged = [*q.used, ("_cursor", next_cursor)]
        links.append({"relation": "next", "url": f"{base}/{kind}?{urlencode(paged)}"})
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in resources
    ]
    if q.ignored:
        entries.append(
            {
                "resource": outcome(
                    "warning", "not-supported", [f"ignored: {t}" for t in q.ignored]
                ),
                "search": {"mode": "outcome"},
            }
        )
    out: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        out["total"] = total
    out["link"] = links
    if entries:
        out["entry"] = entries
    return out


def _bound(param: str) -> tuple[str, datetime, datetime]:
    """A date parameter: its prefix and the first and last instant its value covers."""
    prefix, value = (
        (param[:2], param[2:]) if param[:2] in ("eq", "ge", "gt", "le", "lt") else ("eq", param)
    )
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            first = datetime.combine(d, time(0), tzinfo=UTC)
            return prefix, first, first + timedelta(days=1) - timedelta(milliseconds=1)
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(
            400, "invalid", f"date={param}: a date or dateTime with a prefix (ge, le ...)"
        ) from None
    if t.tzinfo is None:
        raise FhirError(400, "invalid", f"date={param}: a dateTime needs a time zone")
    return prefix, t, t


def window(dates: list[str]) -> tuple[datetime | None, datetime | None]:
    """The instants the `date` parameters leave (all of them must hold)."""
    lo: datetime | None = None
    hi: datetime | None = None
    for param in dates:
        prefix, first, last = _bound(param)
        one_ms = timedelta(milliseconds=1)
        new_lo = {"eq": first, "ge": first, "gt": last + one_ms}.get(prefix)
        new_hi = {"eq": last, "le": last, "lt": first - one_ms}.get(prefix)
        if new_lo is not None:
            lo = new_lo if lo is None else max(lo, new_lo)
        if new_hi is not None:
            hi = new_hi if hi is None else min(hi, new_hi)
    return lo, hi
