"""Fuzz every endpoint from the OpenAPI schema: no generated input may get a 5xx.

Schemathesis generates the requests from /openapi.json; its pytest plugin
does not support pytest 9 yet, so its Hypothesis strategies are driven here.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support import ADMIN, Api, ServerProcess


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


def test_no_input_causes_a_server_error(server: ServerProcess) -> None:
    token = httpx.post(
        server.url + "/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]}
    ).json()["access_token"]
    device_token = asyncio.run(_monitored_device(server))
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    failures: list[str] = []
    readings_answers: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    # Readings first: later operations end sessions and retire devices, the device's too.
    # Operations that may sign the fuzzer itself out (a new password, "sign out
    # everywhere", a changed account) go last, so the others run signed in.
    operations.sort(key=_order)

    cases = 0
    for operation in operations:
        readings = operation.path == "/api/v1/readings"
        answers: Counter[int] = readings_answers if readings else Counter()
        _fuzz(operation, server.url, device_token if readings else token, answers, failures)
        cases += 0 if readings else sum(answers.values())
    cases += sum(readings_answers.values())
    print(f"openapi fuzz: {cases} cases over {len(operations)} operations")
    assert failures == [], failures
    # The device's bodies reached validation and storage, not just the token check.
    assert readings_answers[202] > 0 and readings_answers[422] > 0, readings_answers


_SIGNING_OUT = ("/api/v1/auth/password", "/api/v1/auth/sign-out-everywhere", "/api/v1/users/")


def _order(operation: Any) -> int:
    if operation.path == "/api/v1/readings":
        return 0
    if operation.method.upper() != "GET" and operation.path.startswith(_SIGNING_OUT):
        return 2
    return 1


def _fuzz(
    operation: Any, url: str, bearer: str, answers: Counter[int], failures: list[str]
) -> None:
    """Call the operation with generated requests; count the answers, note any 5xx."""
    readings = operation.path == "/api/v1/readings"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=300 if readings else 30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def fuzz(case: Any) -> None:
        response = case.call(
            base_url=url, headers={"Authorization": f"Bearer {bearer}"}, timeout=30
        )
        answers[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

    fuzz()


async def _monitored_device(server: ServerProcess) -> str:
    api = Api(server.url)
    try:
        device, _ = await api.monitored()
        return str(device["token"])
    finally:
        await api.aclose()
