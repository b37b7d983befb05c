"""Fuzz every endpoint from the OpenAPI schema: no generated input may get a 5xx.

Schemathesis generates the requests from /openapi.json; its pytest plugin
does not support pytest 9 yet, so its Hypothesis strategies are driven here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support import ADMIN, ServerProcess


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


def test_no_input_causes_a_server_error(server: ServerProcess) -> None:
    token = httpx.post(
        server.url + "/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]}
    ).json()["access_token"]
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def fuzz(case: Any) -> None:
            response = case.call(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        fuzz()
    assert failures == [], failures
