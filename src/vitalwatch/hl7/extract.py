"""From a parsed message to what VitalWatch stores: samples (ORU^R01) and the
monitor's own alarm reports (ORU^R40)."""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, field
from datetime import tzinfo

import numpy as np

from vitalwatch.hl7.mapping import DIMENSION, Mapping
from vitalwatch.hl7.parser import Message, Obx
from vitalwatch.hl7.times import to_ms
from vitalwatch.samples import SampleColumns
from vitalwatch.vitals import METRIC_INDEX, METRIC_INFO, METRICS

#: seq = observation time (ms, 42 bits: until 2109) << 21 | 21 bits of the control
#: id's CRC: a resent message has the same seqs (a duplicate), a new message with
#: a restarted control id has other times (new seqs), and seqs grow with time
#: (the writer's fast path for new samples).
_SEQ_HASH_BITS = 21
_MAX_TS_MS = 1 << 42
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True, slots=True)
class Skipped:
    """An OBX row not stored, and why ("unmapped", "not a number", "status X ...",
    "implausible", "waveform", "unit", or an ignore reason of the mapping)."""

    reason: str
    system: str
    ident: str
    text: str
    unit: str
    value: str


@dataclass(slots=True)
class Readings:
    columns: SampleColumns | None  # None: nothing to store
    ranks: dict[str, int]  # the source rank used per metric
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # implausible: nothing stored
    used: list[tuple[str, float, str]] = field(default_factory=list)  # metric, value, unit
    #: (metric, ts_ms) whose earlier stored value this message takes back: its
    #: corrected value replaces it (OBX-11 C), or none does (D, W)
    retracted: list[tuple[str, int]] = field(default_factory=list)


#: OBX-11 (HL7 table 0085). Values: preliminary, results entered, final, partial,
#: changed to final, and no status (many senders leave it empty). Corrections
#: (C; A, amended, in v2.7+) replace the earlier value of the same observation
#: at the same time. The rest carry no value, even when OBX-5 holds a number.
_VALUE_STATUS = frozenset({"", "P", "R", "F", "S", "U"})
_CORRECTION_STATUS = frozenset({"C", "A"})
_RETRACTING_STATUS = frozenset({"D", "W"})
_NO_VALUE_STATUS = {
    "X": "results cannot be obtained",
    "D": "deleted",
    "W": "wrong",
    "I": "pending",
    "N": "not asked",
    "O": "order detail only",
}


def takes_back(message: Message) -> bool:
    """Whether the message corrects, deletes or calls wrong what may have been
    stored: it must be stored after every message received before it."""
    changing = _CORRECTION_STATUS | _RETRACTING_STATUS
    return any(row.status in changing for row in message.obx)


def status_reason(status: str) -> str | None:
    """Why a row with this OBX-11 is not a value (None: it is one)."""
    if status in _VALUE_STATUS or status in _CORRECTION_STATUS:
        return None
    meaning = _NO_VALUE_STATUS.get(status, "not an HL7 result status")
    return f"status {status[:8]}: {meaning}"


def seq_for(control_id: str, ts_ms: int) -> int:
    return (ts_ms << _SEQ_HASH_BITS) | (
        zlib.crc32(control_id.encode("utf-8", "replace")) & ((1 << _SEQ_HASH_BITS) - 1)
    )


def _number(text: str) -> float | None:
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _label(row: Obx) -> str:
    return row.text or row.ident or f"OBX {row.position}"


def readings(
    message: Message,
    mapping: Mapping,
    tz: tzinfo,
    now_ms: int,
    max_future_ms: int,
    best_recent: dict[str, int] | None = None,
) -> Readings:
    """The message's vital signs as samples, one per observation time.

    `best_recent`: per metric, the best (lowest) rank this monitor sent in the
    last seconds; a worse source is then left out (HR from the ECG before the
    pulse rate, also across messages).
    """
    found: list[tuple[str, float, int, int, Obx]] = []  # metric, value, ts, rank, row
    stamps: dict[str, int | None] = {}  # the rows of a message mostly share one time
    out = Readings(columns=None, ranks={})

    def stamp(row: Obx) -> int | None:
        if row.time not in stamps:
            stamps[row.time] = to_ms(row.time, tz) if row.time else None
        return stamps[row.time]

    for row in message.obx:
        if not row.value_type and not row.value:
            continue  # a device hierarchy row (MDS, VMD, channel): no observation
        if row.value_type == "NA" or (row.value_type == "NM" and "^" in row.value):
            out.skipped.append(_skipped(row, "waveform"))
            continue
        rule = mapping.rule(row.ident, row.text, row.system)
        why = status_reason(row.status)
        if why is not None:
            out.skipped.append(_skipped(row, why))
            at = stamp(row)  # a time to take back: only the row's own, never "now"
            if row.status in _RETRACTING_STATUS and rule and rule.metric and at is not None:
                out.retracted.append((rule.metric, at))
            continue
        if row.value_type not in ("NM", ""):
            out.skipped.append(_skipped(row, f"not numeric (value type {row.value_type[:8]})"))
            continue
        if not row.value:
            out.skipped.append(_skipped(row, "no value"))
            continue
        value = _number(row.value)
        if value is None:
            out.skipped.append(_skipped(row, "not a number"))
            continue
        if rule is None:
            out.skipped.append(_skipped(row, "unmapped"))
            continue
        if rule.metric is None:
            out.skipped.append(_skipped(row, rule.reason or "ignored"))
            continue
        if row.unit_ident or row.unit_text:
            u = mapping.unit(row.unit_ident, row.unit_text)
            if u is None or u.dimension != DIMENSION[rule.metric]:
                out.skipped.append(_skipped(row, "unit"))
                continue
            value *= u.factor
        ts = stamp(row)
        if ts is None:
            ts = now_ms  # no readable time anywhere: the receive time
        found.append((rule.metric, value, ts, rule.rank, row))
    best: dict[str, int] = {}
    for metric, _, _, rank, _ in found:
        best[metric] = min(rank, best.get(metric, rank), (best_recent or {}).get(metric, rank))
    rows: dict[int, list[float]] = {}  # ts -> one value per metric (NaN: none)
    for metric, value, ts, rank, row in found:
        if rank > best[metric]:
            out.skipped.append(
                Skipped("other source preferred", row.system, row.ident, row.text, "", row.value)
            )
            continue
        info = METRIC_INFO[metric]
        if not info.plausible_low <= value <= info.plausible_high:
            out.skipped.append(_skipped(row, "implausible"))
            out.problems.append(
                f"OBX {row.position} {_label(row)}: {info.label} {value:g} {info.unit} is "
                f"outside the plausible {info.plausible_low:g}-{info.plausible_high:g}"
            )
            continue
        if ts > now_ms + max_future_ms:
            out.skipped.append(_skipped(row, "observation time ahead of the clock"))
            out.problems.append(
                f"OBX {row.position} {_label(row)}: observation time is "
                f"{(ts - now_ms) / 1000:.0f} s ahead of the service clock (monitor clock wrong?)"
            )
            continue
        if not 0 <= ts < _MAX_TS_MS:
            out.skipped.append(_skipped(row, "observation time not usable"))
            out.problems.append(f"OBX {row.position} {_label(row)}: observation time {row.time}")
            continue
        sample = rows.get(ts)
        if sample is None:
            sample = rows[ts] = [math.nan] * len(METRICS)
        j = METRIC_INDEX[metric]
        corrected = row.status in _CORRECTION_STATUS
        if corrected:  # the corrected value, whatever else the message says of it
            out.retracted.append((metric, ts))
        if math.isnan(sample[j]) or corrected:
            sample[j] = value
            out.ranks[metric] = rank
            out.used.append((metric, value, info.unit))
    for sample in rows.values():
        sbp, dbp = sample[METRIC_INDEX["sbp"]], sample[METRIC_INDEX["dbp"]]
        if not math.isnan(sbp) and not math.isnan(dbp) and sbp <= dbp:
            out.problems.append(f"NIBP {sbp:g}/{dbp:g}: systolic must be above diastolic")
    if out.problems or not rows:
        return out
    times = sorted(rows)
    out.columns = SampleColumns(
        seq=np.array([seq_for(message.control_id, t) for t in times], dtype=np.int64),
        ts_ms=np.array(times, dtype=np.int64),
        values=np.array([rows[t] for t in times], dtype=np.float64),
    )
    return out


def _skipped(row: Obx, reason: str) -> Skipped:
    unit = row.unit_ident or row.unit_text
    return Skipped(reason, row.system, row.ident, row.text, unit, row.value[:40])


# --- ORU^R40: the monitor's own alarms (IHE PCD-04, ACM) ----------------------------

#: Alarm attribute OBX codes, in both the older (68164-68167) and the newer
#: (68480-68485) numbering senders use.
_SOURCE = {"68164", "68480", "MDC_ATTR_ALERT_SOURCE"}
_PHASE = {"68165", "68481", "MDC_ATTR_EVENT_PHASE"}
_STATE = {"68166", "68482", "MDC_ATTR_ALARM_STATE", "MDC_ATTR_ALERT_STATE"}
_INACTIVATION = {"68167", "68483", "MDC_ATTR_ALARM_INACTIVATION_STATE"}
_PRIORITY = {"68484", "MDC_ATTR_ALARM_PRIORITY"}
_TYPE = {"68485", "MDC_ATTR_ALERT_TYPE"}
_ATTRIBUTES = _SOURCE | _PHASE | _STATE | _INACTIVATION | _PRIORITY | _TYPE
_PRIORITIES = {"PH": "high", "PM": "medium", "PL": "low", "PN": None}
_KINDS = {"SP": "physiological", "ST": "technical", "SA": "advisory"}
_TECHNICAL_HINTS = ("LEAD_OFF", "INOP", "SENSOR", "PROBE", "DISCONN", "NOISE", "BATT", "EQUIP")
_EVENT_CODES = {"196616", "MDC_EVT_ALARM"}  # "an alarm": the CWE value names which


@dataclass(slots=True)
class AlarmReport:
    code: str  # the event, e.g. "196648" (MDC_EVT_HI) or "196680" (MDC_EVT_LEAD_OFF)
    label: str  # as the monitor words it: "** RR High", "Lead off"
    priority: str | None  # high | medium | low | None (not said)
    kind: str  # physiological | technical | advisory
    phase: str  # start | continue | update | end | ...
    state: str  # active | inactive | latched | ...
    time: str  # DTM text
    metric: str | None = None  # the VitalWatch metric of the source value, when mapped
    source: str | None = None  # what the alarm is about (the source OBX's name)
    value: float | None = None
    unit: str | None = None
    limits: str | None = None


def _name(code_text: str) -> str:
    """A readable name for an MDC event code name: MDC_EVT_LEAD_OFF -> "Lead off"."""
    base = re.sub(r"^MDCX?_(EVT_|ATTR_)?", "", code_text)
    return base.replace("_", " ").capitalize() if base else code_text


def alarms(message: Message, mapping: Mapping) -> list[AlarmReport]:
    """One report per alarm group (OBR) of an ORU^R40."""
    out: list[AlarmReport] = []
    groups: dict[int, list[Obx]] = {}
    for row in message.obx:
        groups.setdefault(row.group, []).append(row)
    for rows in groups.values():
        event = next((r for r in rows if _is_event(r)), None)
        if event is None:
            continue
        code, code_name = event.ident, event.text
        label = ""
        if event.ident in _EVENT_CODES or event.text in _EVENT_CODES:
            parts = event.value_parts
            code = parts[0] if parts else code
            code_name = parts[1] if len(parts) > 1 else code_name
            label = parts[8] if len(parts) > 8 else ""
        elif event.value_type in ("ST", "TX", "FT", ""):
            label = event.value
        if not label:
            label = _name(code_name or code)
        attrs = {r.ident: r.value for r in rows} | {r.text: r.value for r in rows if r.text}
        flags = [a.upper() for a in event.abnormal]

        def attr(codes: set[str], attrs: dict[str, str] = attrs) -> str:
            return next((attrs[c] for c in codes if attrs.get(c)), "")

        priority_code = next((f for f in flags if f in _PRIORITIES), attr(_PRIORITY).upper())
        priority = _PRIORITIES.get(priority_code) if priority_code else _stars(label)
        kind_code = next((f for f in flags if f in _KINDS), attr(_TYPE).upper())
        kind = _KINDS.get(kind_code) or _guess_kind(code_name, label)
        report = AlarmReport(
            code=code,
            label=label.strip(),
            priority=priority,
            kind=kind,
            phase=attr(_PHASE).lower() or "start",
            state=attr(_STATE).lower() or "active",
            time=event.time or message.sent,
        )
        source = next((r for r in rows if r.value_type == "NM" and r is not event), None)
        if source is not None:
            rule = mapping.rule(source.ident, source.text, source.system)
            report.metric = rule.metric if rule is not None else None
            report.source = source.text or source.ident
            report.value = _number(source.value)
            report.unit = source.unit_text or source.unit_ident or None
            report.limits = source.ranges or None
        out.append(report)
    return out


def _is_event(row: Obx) -> bool:
    """The OBX that names the alarm (not an attribute, not the source value)."""
    if row.ident in _ATTRIBUTES or row.text in _ATTRIBUTES or row.value_type == "NM":
        return False
    return bool(row.value) or row.ident in _EVENT_CODES


def _stars(label: str) -> str | None:
    """Philips words priority in the text: *** high, ** medium, * low."""
    stars = len(label) - len(label.lstrip("*"))
    return {3: "high", 2: "medium", 1: "low"}.get(min(stars, 3))


def _guess_kind(code_name: str, label: str) -> str:
    upper = code_name.upper()
    if any(h in upper for h in _TECHNICAL_HINTS) or label.startswith("!"):
        return "technical"
    return "physiological"
