"""SDC metric values -> VitalWatch samples, through the same MDC table HL7 uses
(hl7/mapping.toml: codes, source ranks, units and their factors, kPa -> mmHg).

One row per metric value, at its determination time, with seq = that time and
the metric's handle (hl7.extract.seq_for): the same value read again (a
report and the MDIB re-read after a reconnect) is the same row, stored once.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from vitalwatch.hl7.extract import seq_for
from vitalwatch.hl7.mapping import DIMENSION, Mapping
from vitalwatch.samples import SampleColumns
from vitalwatch.sdc.states import VALID, Reading
from vitalwatch.vitals import METRIC_INDEX, METRIC_INFO, METRICS

#: A better source of a metric (HR from the ECG) seen within this long keeps a
#: worse one (the oximeter's pulse rate) out, as for HL7.
SOURCE_MEMORY_MS = 30_000
VALIDITY_WORDS = {
    "Qst": "questionable",
    "Calib": "calibration ongoing",
    "Inv": "invalid",
    "NA": "not available",
    "Ong": "measurement ongoing",
    "Oflw": "overflow",
    "Uflw": "underflow",
}


@dataclass(frozen=True, slots=True)
class Skip:
    """A value not taken as a value, and why (recorded per provider and code)."""

    code: str
    metric: str | None
    reason: str


@dataclass(slots=True)
class Mapped:
    columns: SampleColumns | None
    taken: dict[str, int] = field(default_factory=dict)  # handle -> determination time
    skipped: list[Skip] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)  # metric -> value, last taken


@dataclass
class Memory:
    """What one provider's link remembers between reports."""

    taken: dict[str, int] = field(default_factory=dict)  # handle -> last determination time
    ranks: dict[str, tuple[int, int]] = field(default_factory=dict)  # metric -> (rank, ts)
    values: dict[str, float] = field(default_factory=dict)  # metric -> last value


def to_samples(readings: list[Reading], mapping: Mapping, memory: Memory, future_ms: int) -> Mapped:
    """The rows to store of a report (or of the MDIB as read), and what was skipped."""
    now_ms = int(time.time() * 1000)
    out = Mapped(None)
    rows: list[tuple[int, int, int, float]] = []  # seq, ts, column, value
    for r in sorted(readings, key=lambda r: _rank_of(mapping, r.code)):
        if r.ts_ms is None or r.ts_ms <= memory.taken.get(r.handle, -1):
            continue  # no time, or a value already taken
        rule = mapping.rule(r.code, "", "MDC")
        metric = rule.metric if rule is not None else None
        reason = _problem(r, mapping, metric, now_ms, future_ms)
        if rule is None or metric is None:
            reason = "not a VitalWatch metric" if rule is None else (rule.reason or "ignored")
        if reason is not None:
            out.skipped.append(Skip(r.code, metric, reason))
            out.taken[r.handle] = r.ts_ms
            continue
        assert metric is not None and rule is not None and r.value is not None
        better = memory.ranks.get(metric)
        if better is not None and better[0] < rule.rank and r.ts_ms - better[1] < SOURCE_MEMORY_MS:
            out.taken[r.handle] = r.ts_ms
            continue  # HR from the ECG is there: the oximeter's pulse rate is not stored
        unit = mapping.unit(r.unit, "")
        assert unit is not None
        value = r.value * unit.factor
        rows.append((seq_for(r.handle, r.ts_ms), r.ts_ms, METRIC_INDEX[metric], value))
        memory.ranks[metric] = (rule.rank, r.ts_ms)
        out.taken[r.handle] = r.ts_ms
        out.values[metric] = value
    if rows:
        values = np.full((len(rows), len(METRICS)), np.nan)
        for i, (_, _, col, v) in enumerate(rows):
            values[i, col] = v
        out.columns = SampleColumns(
            seq=np.array([q for q, _, _, _ in rows], dtype=np.int64),
            ts_ms=np.array([t for _, t, _, _ in rows], dtype=np.int64),
            values=values,
        )
    return out


def _rank_of(mapping: Mapping, code: str) -> int:
    rule = mapping.rule(code, "", "MDC")
    return rule.rank if rule is not None else 99


def _problem(
    r: Reading, mapping: Mapping, metric: str | None, now_ms: int, future_ms: int
) -> str | None:
    """Why a value is not a value (None: it is one)."""
    if metric is None:
        return None
    if r.validity not in VALID:
        return f"validity {VALIDITY_WORDS.get(r.validity, r.validity)}"
    if r.value is None or not math.isfinite(r.value):
        return "no value"
    unit = mapping.unit(r.unit, "")
    if unit is None or unit.dimension != DIMENSION[metric]:
        return f"unit {r.unit or '(none)'} is not a unit of {METRIC_INFO[metric].label}"
    value = r.value * unit.factor
    info = METRIC_INFO[metric]
    if not info.plausible_low <= value <= info.plausible_high:
        return f"implausible {info.label} {value:g} {info.unit}"
    if r.ts_ms is not None and r.ts_ms > now_ms + future_ms:
        return "determination time in the future"
    return None
