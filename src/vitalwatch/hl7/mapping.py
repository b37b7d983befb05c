"""The observation mapping (mapping.toml): which OBX rows are which metric, in
which unit. Loaded once; a lookup is a few dict probes per OBX row."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from vitalwatch.vitals import METRICS

TABLE = Path(__file__).with_name("mapping.toml")

Dimension = Literal["rate", "pressure", "percent"]
DIMENSION: dict[str, Dimension] = {
    "hr": "rate",
    "rr": "rate",
    "sbp": "pressure",
    "dbp": "pressure",
    "map": "pressure",
    "spo2": "percent",
}
#: Systems whose rules also match rows that name no coding system.
_BARE_OK = frozenset({"MDC"})


class MappingError(ValueError):
    """mapping.toml is not as mapping.py expects (raised at start, never per message)."""


@dataclass(frozen=True, slots=True)
class Rule:
    metric: str | None  # None: an [[ignore]] rule
    rank: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Unit:
    dimension: Dimension
    factor: float


_SEEN_CODES = 4096


class Mapping:
    def __init__(self, doc: dict[str, Any]) -> None:
        self._rules: dict[tuple[str, str, str], Rule] = {}
        self._units: dict[str, Unit] = {}
        # What a sender's codes resolved to: a monitor repeats the same few
        # OBX-3 codes in every message (bounded: a sender may vary them).
        self._seen: dict[tuple[str, str, str], Rule | None] = {}
        for entry in doc.get("unit", []):
            unit = Unit(entry["dimension"], float(entry["factor"]))
            if unit.dimension not in ("rate", "pressure", "percent"):
                raise MappingError(f"unknown unit dimension {unit.dimension!r}")
            for name in entry["names"]:
                self._units[name.casefold()] = unit
        for entry in doc.get("observation", []):
            metric = entry["metric"]
            if metric not in METRICS:
                raise MappingError(f"unknown metric {metric!r} in {TABLE.name}")
            self._add(entry, Rule(metric, int(entry.get("rank", 1))))
        for entry in doc.get("ignore", []):
            self._add(entry, Rule(None, 0, entry["reason"]))

    def _add(self, entry: dict[str, Any], rule: Rule) -> None:
        for system in entry["system"]:
            for code in entry["codes"]:
                ident, _, text = code.partition("^")
                key = (system.casefold(), ident.casefold(), text.casefold())
                self._rules.setdefault(key, rule)

    def rule(self, ident: str, text: str, system: str) -> Rule | None:
        """The rule for an OBX-3, or None when nothing maps it."""
        key = (ident, text, system)
        try:
            return self._seen[key]
        except KeyError:
            pass
        if len(self._seen) >= _SEEN_CODES:
            self._seen.clear()
        found = self._seen[key] = self._rule(ident, text, system)
        return found

    def _rule(self, ident: str, text: str, system: str) -> Rule | None:
        s, i, t = system.strip().casefold(), ident.strip().casefold(), text.strip().casefold()
        systems = (s,) if s else ("", *(b.casefold() for b in _BARE_OK))
        rules = self._rules
        for sys_ in systems:
            for key in ((sys_, i, t), (sys_, i, ""), (sys_, t, "")):
                if key[1] and key in rules:
                    return rules[key]
        return None

    def unit(self, ident: str, text: str) -> Unit | None:
        for name in (ident, text):
            hit = self._units.get(name.strip().casefold())
            if hit is not None:
                return hit
        return None


@lru_cache(maxsize=1)
def load(path: Path = TABLE) -> Mapping:
    with path.open("rb") as f:
        return Mapping(tomllib.load(f))
