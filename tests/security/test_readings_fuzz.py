"""No body of at most 64 KiB gets a 5xx from the readings route of a real
server (hypothesis): raw bytes, JSON-ish structures, sample-shaped documents
with huge integers, NaN and Infinity, lone surrogates, deep nesting, and
repeats of a few seqs and times (duplicates and conflicts)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Api, ServerProcess, iso, now_utc

MAX_BODY = 64 * 1024
KEYS = ["ts", "seq", "hr", "sbp", "dbp", "map", "spo2", "rr"]


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


NUMBERS = st.one_of(
    st.integers(-5, 400),
    st.integers(),
    st.integers(-(2**300), 2**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 1e308, 5e-324]),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), NUMBERS, st.text(max_size=60), st.sampled_from(["\ud800", "72"])
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=40,
)


def _times() -> list[str]:
    base = now_utc() - timedelta(minutes=2)
    return [iso(base + timedelta(seconds=s)) for s in range(4)]


TIMES = _times()  # a few times shared by every example: repeats, duplicates, conflicts
SAMPLE = st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=8),
    st.one_of(st.integers(0, 5), st.sampled_from(TIMES), st.integers(40, 160), SCALARS),
    max_size=9,
)
PLAUSIBLE = st.fixed_dictionaries(
    {"seq": st.integers(0, 5), "ts": st.sampled_from(TIMES)},
    optional={"hr": st.integers(40, 160), "spo2": st.integers(85, 100), "rr": st.integers(4, 30)},
)
DOCUMENTS = st.one_of(
    st.fixed_dictionaries({"samples": st.lists(PLAUSIBLE, min_size=1, max_size=5)}),
    st.fixed_dictionaries({"samples": st.lists(SAMPLE, max_size=30)}),
    st.fixed_dictionaries({"samples": JSONISH}),
    JSONISH,
)


def _dumped(doc: Any) -> bytes:
    """The standard library writes what JSON readers may take or refuse alike:
    integers of any size, NaN and Infinity, lone surrogates as escapes."""
    return json.dumps(doc, allow_nan=True).encode()


BODIES = st.one_of(
    DOCUMENTS.map(_dumped),
    st.binary(max_size=4096),
    st.integers(1, 60_000).map(lambda n: b"[" * n),
    st.integers(1, 20_000).map(lambda n: b'{"samples": ' + b"[" * n + b"]" * n + b"}"),
    st.integers(1, 12_000).map(lambda n: b'{"a": ' * n + b"1" + b"}" * n),
    st.integers(1, 60_000).map(lambda n: b'{"samples": [{"seq": 1, "hr": ' + b"9" * n + b"}]}"),
    st.tuples(DOCUMENTS.map(_dumped), st.integers(0, 200)).map(lambda t: t[0][: t[1]]),
).map(lambda body: body[:MAX_BODY])


def test_no_readings_body_of_up_to_64_kib_gets_a_5xx(server: ServerProcess) -> None:
    token = asyncio.run(_monitored_device(server))
    answers: Counter[int] = Counter()
    failures: list[str] = []
    client = httpx.Client(base_url=server.url, timeout=30)

    @given(body=BODIES, content_type=st.sampled_from(["application/json", "text/plain", ""]))
    @settings(
        max_examples=600,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def post(body: bytes, content_type: str) -> None:
        assert len(body) <= MAX_BODY
        headers = {"Authorization": f"Bearer {token}"}
        if content_type:
            headers["Content-Type"] = content_type
        r = client.post("/api/v1/readings", content=body, headers=headers)
        answers[r.status_code] += 1
        if r.status_code >= 500:
            failures.append(f"{r.status_code} for {body[:200]!r}: {r.text[:200]}")
        else:
            r.json()  # every answer is JSON

    try:
        post()
    finally:
        client.close()
    print(f"readings fuzz: {sum(answers.values())} bodies, answers {dict(answers)}")
    assert failures == [], failures[:5]
    # the bodies reached storage and its refusals, not only the parser
    assert answers[202] > 0 and answers[422] > 0 and answers[409] > 0, answers


async def _monitored_device(server: ServerProcess) -> str:
    api = Api(server.url)
    try:
        device, _ = await api.monitored()
        return str(device["token"])
    finally:
        await api.aclose()
