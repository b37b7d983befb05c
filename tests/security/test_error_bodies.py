"""Every error answer encodes whatever the client sent: a number beyond 64
bits, NaN and Infinity (which Python's JSON reader takes), a lone surrogate
(which JSON may spell and UTF-8 cannot), a huge key. Through the readings
route (its own ASGI endpoint, orjson), FastAPI's validation handler (the
standard library's encoder) and the domain errors, on a real server."""

from __future__ import annotations

import pytest

from tests.support import Api, iso, now_utc

BIG = "123456789012345678901234567890"  # 97 bits
HUGE = "9" * 5000  # more digits than Python prints


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


async def _readings(api: Api, token: str, body: str) -> tuple[int, list[dict[str, object]]]:
    r = await api.http.post(
        "/api/v1/readings",
        content=body.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    return r.status_code, r.json()["detail"]


@pytest.mark.parametrize(
    ("sample", "loc", "echo"),
    [
        (f'{{"seq": 1, "hr": {BIG}}}', ["body", "samples", 1, "hr"], BIG),
        (f'{{"seq": -{BIG}, "hr": 70}}', ["body", "samples", 1, "seq"], f"-{BIG}"),
        (f'{{"seq": {BIG}, "hr": 70}}', ["body", "samples", 1, "seq"], BIG),
        (f'{{"seq": 1, "ts": {BIG}, "hr": 70}}', ["body", "samples", 1, "ts"], BIG),
        ('{"seq": 1, "hr": NaN}', ["body", "samples", 1, "hr"], "NaN"),
        ('{"seq": 1, "spo2": -Infinity}', ["body", "samples", 1, "spo2"], "-Infinity"),
        # what the JSON reader itself refuses is named as the body, not repeated
        (f'{{"seq": 1, "hr": {HUGE}}}', ["body"], None),
        ('{"seq": 1, "hr": "\\ud800"}', ["body"], None),
        ('{"seq": 1, "hr": 70, "\\udfff": 1}', ["body"], None),
    ],
)
async def test_a_readings_422_repeats_any_input_it_can_encode(
    api: Api, sample: str, loc: list[object], echo: object
) -> None:
    device, _ = await api.monitored()
    good = f'{{"ts": "{iso(now_utc())}", "seq": 0, "hr": 70}}'
    _, detail = await _readings(api, device["token"], f'{{"samples": [{good}, {sample}]}}')
    error = detail[0]
    assert error["loc"] == loc and error.get("input") == echo, error


async def test_a_huge_unknown_key_is_named_trimmed(api: Api) -> None:
    device, _ = await api.monitored()
    key = "k" * 30_000
    _, detail = await _readings(api, device["token"], f'{{"samples": [{{"seq": 1, "{key}": 1}}]}}')
    [error] = [e for e in detail if e["type"] == "extra_forbidden"]
    assert str(error["loc"][-1]).startswith("kkkk") and len(str(error["loc"][-1])) <= 41


@pytest.mark.parametrize(
    "device_ids",
    [f"[{BIG}]", "[NaN]", "[Infinity]", '["\\ud800"]', f'["{"x" * 50_000}"]'],
)
async def test_fastapi_routed_422_encodes_what_the_client_sent(api: Api, device_ids: str) -> None:
    """The standard library's encoder (FastAPI's JSONResponse) refuses NaN and
    lone surrogates: the validation handler must not hand it either."""
    body = (
        '{"patient": {"ref": "MRN-9", "display_name": "P"}, "protocol": "ketamine-iv", '
        f'"room": "R1", "device_ids": {device_ids}}}'
    )
    r = await api.http.post(
        "/api/v1/sessions",
        content=body.encode(),
        headers={**(await api.auth()), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, (r.status_code, r.text[:300])
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "device_ids", 0]
    assert len(r.content) < 2_000  # the input is trimmed, not repeated whole
