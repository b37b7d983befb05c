"""The readings body parser: the fast column path must agree with the schema.

`parse_readings` takes plain bodies through orjson and numpy and everything
else through the pydantic schema. The fast path may only accept a body the
schema accepts, with the very same columns; these properties pin that on
generated bodies, plain and odd alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vitalwatch.readings.schemas import ReadingsBatchAdapter
from vitalwatch.readings.validation import (
    SampleProblems,
    _model_columns,
    _plain_columns,
    parse_readings,
)
from vitalwatch.vitals import METRIC_INFO, METRICS

NOW_MS = 1_795_428_902_000  # 2026-11-23T10:15:02Z
FUTURE_MS = 60_000


@st.composite
def _ts_text(draw: st.DrawFn, odd: bool = True) -> str:
    when = datetime(2026, 11, 23, tzinfo=UTC) + timedelta(
        microseconds=draw(st.integers(-(10**11), 10**11))
    )
    offset = draw(st.sampled_from([0, 60, 330, -300, -720]))
    when = when.astimezone(timezone(timedelta(minutes=offset)))
    digits = draw(st.sampled_from([0, 1, 3, 6, 7] if odd else [0, 1, 3, 6]))
    text = (
        when.strftime("%Y-%m-%d")
        + draw(st.sampled_from("TTt " if odd else "TT "))
        + when.strftime("%H:%M:%S")
    )
    if digits:
        text += "." + f"{when.microsecond:06d}{draw(st.integers(0, 9))}"[:digits]
    zone = when.strftime("%z")
    zone = zone[:3] + ":" + zone[3:]
    if offset == 0 and draw(st.booleans()):
        zone = "Z"
    if odd:
        zone = draw(st.sampled_from([zone, zone, "z", "", "+25:00"]))
    return text + zone


@st.composite
def _timestamps(draw: st.DrawFn) -> Any:
    return draw(
        st.one_of(
            st.builds(lambda: None),
            st.just("absent"),
            _ts_text(),
            st.sampled_from(["2026-11-23", "2026-02-30T10:00:00Z", "2026-11-23T23:59:60Z", "now"]),
            st.integers(0, 2_000_000_000),
        )
    )


def _metric_value(metric: str) -> st.SearchStrategy[Any]:
    info = METRIC_INFO[metric]
    inside = st.floats(info.plausible_low, info.plausible_high)
    return st.one_of(
        inside,
        inside,
        st.integers(int(info.plausible_low) - 5, int(info.plausible_high) + 5),
        st.floats(allow_nan=False, allow_infinity=False),
        st.none(),
        st.booleans(),
        st.sampled_from(["72", "seventy", ""]),
        st.just([72]),
    )


@st.composite
def _sample(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 40)) == 0:
        return draw(st.sampled_from([None, 17, "sample", []]))
    sample: dict[str, Any] = {}
    ts = draw(_timestamps())
    if ts != "absent":
        sample["ts"] = ts
    seq = draw(
        st.one_of(
            st.integers(0, 2**63 - 1),
            st.integers(0, 10**6),
            st.integers(-5, -1),
            st.just(2**63),
            st.floats(0, 100).map(float),
            st.sampled_from(["17", True, None]),
        )
    )
    if draw(st.integers(0, 20)):
        sample["seq"] = seq
    for metric in draw(st.sets(st.sampled_from(METRICS), max_size=6)):
        sample[metric] = draw(_metric_value(metric))
    if draw(st.integers(0, 30)) == 0:
        sample["temp"] = 37.0
    return sample


@st.composite
def _device_ts(draw: st.DrawFn) -> str:
    """How devices write times: RFC 3339, UTC, 0, 3 or 6 fraction digits."""
    when = datetime(2026, 11, 23, tzinfo=UTC) + timedelta(
        microseconds=draw(st.integers(-(10**11), 10**11))
    )
    spec = draw(st.sampled_from(["seconds", "milliseconds", "microseconds"]))
    text = when.isoformat(timespec=spec)
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


_PLAIN_SAMPLE = st.fixed_dictionaries(
    {"seq": st.integers(0, 2**63 - 1)},
    optional={
        "ts": _device_ts(),
        **{
            m: st.floats(METRIC_INFO[m].plausible_low, METRIC_INFO[m].plausible_high)
            for m in METRICS
        },
        "spo2": st.integers(50, 100),
    },
)


@st.composite
def _ordinary_sample(draw: st.DrawFn) -> Any:
    """Accepted by both paths, yet not only the commonest form (offsets, space, "t")."""
    sample = draw(_PLAIN_SAMPLE)
    if "ts" in sample and draw(st.booleans()):
        sample["ts"] = draw(_ts_text(odd=False))
    return sample


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    """Bodies from all plain to all odd: most odd bodies differ in one detail."""
    odd = draw(st.sampled_from([0, 0, 1, 1, 4, 12]))  # about how many odd samples
    size = draw(st.integers(0 if odd else 1, 12))
    samples = [
        draw(_sample() if draw(st.integers(0, 11)) < odd else _ordinary_sample())
        for _ in range(size)
    ]
    doc: Any = {"samples": samples}
    if draw(st.integers(0, 30)) == 0:
        doc["device"] = "x"
    if draw(st.integers(0, 40)) == 0:
        doc = samples
    return orjson.dumps(doc)


def _schema_columns(body: bytes) -> Any:
    try:
        batch = ReadingsBatchAdapter.validate_json(body)
    except ValidationError:
        return None
    return _model_columns(batch, NOW_MS)[0]


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_bodies())
def test_fast_path_accepts_only_what_the_schema_accepts_with_the_same_columns(body: bytes) -> None:
    fast = _plain_columns(body, NOW_MS)
    if fast is None:
        return
    schema = _schema_columns(body)
    assert schema is not None, body
    columns = fast[0]
    np.testing.assert_array_equal(columns.seq, schema.seq)
    np.testing.assert_array_equal(columns.ts_ms, schema.ts_ms)
    np.testing.assert_array_equal(columns.values, schema.values)  # NaN == NaN here


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(samples=st.lists(_PLAIN_SAMPLE, min_size=1, max_size=20))
def test_plain_bodies_take_the_fast_path(samples: list[dict[str, Any]]) -> None:
    """A device's ordinary batch must not fall back to pydantic (it is 5x slower)."""
    body = orjson.dumps({"samples": samples})
    assert _plain_columns(body, NOW_MS) is not None, body


def test_errors_name_the_sample_and_the_field_on_either_path() -> None:
    plain = orjson.dumps({"samples": [{"seq": 1, "hr": 70}, {"seq": 2, "sbp": 80, "dbp": 90}]})
    odd = orjson.dumps({"samples": [{"seq": "1", "hr": "70"}, {"seq": 2, "sbp": 80, "dbp": 90}]})
    for body in (plain, odd):
        with pytest.raises(SampleProblems) as caught:
            parse_readings(body, NOW_MS, FUTURE_MS)
        assert [e["loc"] for e in caught.value.errors] == [["body", "samples", 1, "sbp"]]
        assert caught.value.errors[0]["msg"] == "sbp 80 must be above dbp 90"


def test_out_of_range_value_is_worded_by_the_schema() -> None:
    body = orjson.dumps({"samples": [{"seq": 1, "hr": 70}, {"seq": 2, "spo2": 101}]})
    with pytest.raises(SampleProblems) as caught:
        parse_readings(body, NOW_MS, FUTURE_MS)
    (error,) = caught.value.errors
    assert error["loc"] == ("body", "samples", 1, "spo2")
    assert "less than or equal to 100" in error["msg"]


def test_future_timestamp_names_what_the_device_sent() -> None:
    body = orjson.dumps({"samples": [{"seq": 1, "hr": 70, "ts": "2026-11-23T11:15:02Z"}]})
    with pytest.raises(SampleProblems) as caught:
        parse_readings(body, NOW_MS, FUTURE_MS)
    (error,) = caught.value.errors
    assert error["loc"] == ["body", "samples", 0, "ts"]
    assert error["input"] == "2026-11-23T11:15:02Z"
    assert error["msg"].startswith("ts is 3600 s ahead")


def test_missing_timestamps_take_the_receive_time_next_to_given_ones() -> None:
    body = orjson.dumps(
        {"samples": [{"seq": 1, "hr": 70}, {"seq": 2, "hr": 71, "ts": "2026-11-23T10:15:00.5Z"}]}
    )
    columns = parse_readings(body, NOW_MS, FUTURE_MS)
    assert columns.ts_ms.tolist() == [NOW_MS, NOW_MS - 1500]
    assert columns.seq.tolist() == [1, 2]
