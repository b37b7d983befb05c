"""Turn a readings body into column arrays, with every check the contract asks.

Two ways in, one result. Almost every body a device sends is plain: numbers
where numbers go, RFC 3339 times. Those are decoded with orjson and checked a
whole column at a time with numpy (about 0.5 ms for 1,000 samples). Anything
else, and anything out of range, goes through the pydantic schema
(`ReadingsBatch`), which accepts the same lax forms as before ("72" for 72)
and words the 422 that names the sample and the field. The fast way only
accepts bodies the schema accepts with the same values (tests/readings pin
this with hypothesis), so the two cannot disagree on what is stored.

What needs two fields or the clock (sbp above dbp, no ts in the future, at
least one metric) is checked on the columns, whichever way they came.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np
import orjson
from pydantic import ValidationError

from vitalwatch.readings.schemas import MAX_SAMPLES, ReadingsBatch, ReadingsBatchAdapter
from vitalwatch.samples import SampleColumns
from vitalwatch.vitals import METRIC_INFO, METRICS


class SampleProblems(Exception):
    """Errors in FastAPI's 422 shape, each naming the sample and the field."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_readings(body: bytes, now_ms: int, max_future_ms: int) -> SampleColumns:
    """The body's samples as columns, or SampleProblems naming every offending one."""
    fast = _plain_columns(body, now_ms)
    if fast is not None:
        columns, ts_text = fast
    else:
        try:
            batch = ReadingsBatchAdapter.validate_json(body)
        except ValidationError as exc:
            raise SampleProblems(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        columns, ts_text = _model_columns(batch, now_ms)
    _check(columns, now_ms, max_future_ms, ts_text)
    return columns


# --- the fast way: plain JSON, checked a column at a time ---------------------

_KEYS = frozenset(("ts", "seq", *METRICS))
_NONE = type(None)
_NUMBER_OR_NONE = frozenset((int, float, _NONE))  # bool is a type of its own: not taken
_RANGES = [(METRIC_INFO[m].plausible_low, METRIC_INFO[m].plausible_high) for m in METRICS]
#: The RFC 3339 forms both datetime.fromisoformat and pydantic read alike;
#: anything else (week dates, 7 fraction digits, no offset) goes to pydantic.
_RFC3339 = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)"
_TS_COLUMN = re.compile(rf"(?:{_RFC3339}\n)*{_RFC3339}")
_TS_ONE = re.compile(_RFC3339)
_METRIC_AT: dict[str, int] = {m: j for j, m in enumerate(METRICS)}
_I64_MAX = (1 << 63) - 1
#: Up to this many samples a body is checked a sample at a time (same result).
_ROW_AT_A_TIME = 8


def _plain_columns(body: bytes, now_ms: int) -> tuple[SampleColumns, Callable[[int], Any]] | None:
    """Columns when the body is plain and in range; None sends it to pydantic."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(doc) is not dict or doc.keys() != {"samples"}:
        return None
    samples = doc["samples"]
    if type(samples) is not list or not 1 <= len(samples) <= MAX_SAMPLES:
        return None
    if set(map(type, samples)) != {dict} or not _KEYS.issuperset(chain.from_iterable(samples)):
        return None
    n = len(samples)
    if n <= _ROW_AT_A_TIME:
        return _plain_rows(samples, now_ms)

    seqs = [s.get("seq") for s in samples]
    if set(map(type, seqs)) != {int}:
        return None
    try:
        seq = np.array(seqs, dtype=np.int64)
    except OverflowError:
        return None
    if seq.min() < 0:
        return None

    values = np.full((n, len(METRICS)), np.nan)
    for j, metric in enumerate(METRICS):
        column = [s.get(metric) for s in samples]
        kinds = set(map(type, column))
        if kinds == {_NONE}:
            continue
        if not kinds <= _NUMBER_OR_NONE:
            return None
        low, high = _RANGES[j]
        got = np.array(column, dtype=np.float64)  # None -> NaN
        with np.errstate(invalid="ignore"):
            if ((got < low) | (got > high)).any():
                return None
        values[:, j] = got

    stamps = [s.get("ts") for s in samples]
    kinds = set(map(type, stamps))
    ts_ms = np.full(n, now_ms, dtype=np.int64)
    if kinds != {_NONE}:
        if not kinds <= {str, _NONE}:
            return None
        given = [t for t in stamps if t is not None]
        if not _TS_COLUMN.fullmatch("\n".join(given)):
            return None
        try:
            seconds = np.array([datetime.fromisoformat(t).timestamp() for t in given])
        except ValueError:  # 25:00, 30 February: pydantic words it
            return None
        has = np.array([t is not None for t in stamps]) if len(given) < n else slice(None)
        ts_ms[has] = np.rint(seconds * 1000)
    return SampleColumns(seq=seq, ts_ms=ts_ms, values=values), stamps.__getitem__


def _plain_rows(
    samples: list[dict[str, Any]], now_ms: int
) -> tuple[SampleColumns, Callable[[int], Any]] | None:
    """The same checks a sample at a time, for the few samples a monitor posts
    each second: on one row, numpy's cost per call is most of the work."""
    seqs: list[int] = []
    stamps: list[Any] = []
    times: list[int] = []
    rows: list[list[float]] = []
    for sample in samples:
        seq = sample.get("seq")
        if type(seq) is not int or not 0 <= seq <= _I64_MAX:
            return None
        row = [math.nan] * len(METRICS)
        for key, value in sample.items():
            j = _METRIC_AT.get(key)
            if j is None or value is None:
                continue  # ts, seq, or a metric not measured
            if type(value) is not int and type(value) is not float:
                return None
            low, high = _RANGES[j]
            if not low <= value <= high:
                return None
            row[j] = float(value)
        ts = sample.get("ts")
        if ts is None:
            times.append(now_ms)
        elif type(ts) is not str or not _TS_ONE.fullmatch(ts):
            return None
        else:
            try:
                times.append(round(datetime.fromisoformat(ts).timestamp() * 1000))
            except ValueError:
                return None
        seqs.append(seq)
        stamps.append(ts)
        rows.append(row)
    columns = SampleColumns(
        seq=np.array(seqs, dtype=np.int64),
        ts_ms=np.array(times, dtype=np.int64),
        values=np.array(rows, dtype=np.float64),
    )
    return columns, stamps.__getitem__


# --- the schema's way: anything else, and the wording of its errors -----------

#: A sample's metric values in METRICS order, in one C call (None -> NaN below).
_METRIC_VALUES = attrgetter(*METRICS)


def _model_columns(batch: ReadingsBatch, now_ms: int) -> tuple[SampleColumns, Callable[[int], Any]]:
    samples = batch.samples
    n = len(samples)
    seq = np.fromiter((s.seq for s in samples), dtype=np.int64, count=n)
    ts_ms = np.fromiter(
        (now_ms if s.ts is None else round(s.ts.timestamp() * 1000) for s in samples),
        dtype=np.int64,
        count=n,
    )
    values = np.array(list(map(_METRIC_VALUES, samples)), dtype=np.float64).reshape(n, len(METRICS))
    return SampleColumns(seq=seq, ts_ms=ts_ms, values=values), lambda i: str(samples[i].ts)


# --- checks across fields and against the clock --------------------------------


def _g(v: float) -> str:
    return "?" if np.isnan(v) else f"{v:g}"


def _error(index: int, field: str, msg: str, value: Any) -> dict[str, Any]:
    return {
        "type": "value_error",
        "loc": ["body", "samples", index, field],
        "msg": msg,
        "input": value,
    }


_SBP, _DBP, _MAP = (METRICS.index(m) for m in ("sbp", "dbp", "map"))


def _clean_rows(columns: SampleColumns, latest_ms: int) -> bool:
    """True when no sample breaks a rule below (the common case, decided without
    numpy for a few rows); a break is worded by the column checks."""
    for row, ts in zip(columns.values.tolist(), columns.ts_ms.tolist(), strict=True):
        if ts > latest_ms or all(v != v for v in row):  # NaN != NaN: nothing measured
            return False
        sbp, dbp, mean = row[_SBP], row[_DBP], row[_MAP]
        if sbp <= dbp or mean > sbp or mean < dbp:  # False whenever one is NaN
            return False
    return True


def _check(
    columns: SampleColumns, now_ms: int, max_future_ms: int, ts_text: Callable[[int], Any]
) -> None:
    if len(columns) <= _ROW_AT_A_TIME and _clean_rows(columns, now_ms + max_future_ms):
        return
    values, ts_ms = columns.values, columns.ts_ms
    errors: list[dict[str, Any]] = []
    for i in np.flatnonzero(np.isnan(values).all(axis=1)):
        errors.append(
            _error(int(i), "samples", "a sample needs at least one of " + ", ".join(METRICS), None)
        )
    sbp, dbp = values[:, METRICS.index("sbp")], values[:, METRICS.index("dbp")]
    mean = values[:, METRICS.index("map")]
    with np.errstate(invalid="ignore"):
        for i in np.flatnonzero(sbp <= dbp):
            errors.append(
                _error(int(i), "sbp", f"sbp {sbp[i]:g} must be above dbp {dbp[i]:g}", float(sbp[i]))
            )
        # a mean pressure lies between the diastolic and the systolic
        for i in np.flatnonzero((mean > sbp) | (mean < dbp)):
            errors.append(
                _error(
                    int(i),
                    "map",
                    f"map {mean[i]:g} must lie between dbp and sbp of the same sample"
                    f" ({_g(dbp[i])}-{_g(sbp[i])})",
                    float(mean[i]),
                )
            )
    for i in np.flatnonzero(ts_ms > now_ms + max_future_ms):
        ahead = (int(ts_ms[i]) - now_ms) / 1000
        errors.append(
            _error(
                int(i),
                "ts",
                f"ts is {ahead:.0f} s ahead of the service clock (device clock wrong?)",
                ts_text(int(i)),
            )
        )
    if errors:
        errors.sort(key=lambda e: e["loc"][2])
        raise SampleProblems(errors[:100])
