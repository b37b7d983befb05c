"""Malformed input to every route gets a clear 4xx, never a 5xx: raw bytes,
wrong content types, truncated and huge bodies (hypothesis), with a staff and
with a device token, and without one."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import ADMIN, Api, ServerProcess


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


def _routes(server: ServerProcess) -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI schema, path parameters filled with 1."""
    schema = httpx.get(server.url + "/openapi.json").json()
    routes = []
    for path, operations in schema["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        routes += [(method.upper(), concrete) for method in operations]
    return routes


CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        'application/json; charset="utf-7"',
        "*/*",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512).map(str.encode),
    st.sampled_from(
        [
            b'{"samples": [{"seq": 1, "hr": 70}',  # truncated
            b'{"patient": {"ref": "x"}, "protocol": "custom"',
            b"\xff\xfe\xfd",
            b'{"a": ' * 5000,  # deep nesting
            b"[" * 100_000,
            b'{"samples": [' + b'{"seq": 1},' * 20_000 + b"]}",
            b"username=%ff%fe&password=\x00",
            b'--x\r\nContent-Disposition: form-data; name="username"\r\n\r\n\xff\r\n--x--',
            b"\x00" * 4096,
        ]
    ),
)


def test_every_route_answers_malformed_input_with_a_4xx(server: ServerProcess) -> None:
    routes = _routes(server)
    assert len(routes) >= 20
    staff, device = asyncio.run(_tokens(server))
    bearers = [None, "not-a-token", staff, device]
    failures: list[str] = []
    answers: dict[int, int] = {}

    @given(
        route=st.sampled_from(routes),
        content_type=CONTENT_TYPES,
        body=BODIES,
        bearer=st.sampled_from(bearers),
    )
    @settings(
        max_examples=600, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def fuzz(route: tuple[str, str], content_type: str, body: bytes, bearer: str | None) -> None:
        method, path = route
        headers = {"Content-Type": content_type} if content_type else {}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            r = httpx.request(method, server.url + path, content=body, headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            failures.append(f"{method} {path}: {type(exc).__name__}")
            return
        answers[r.status_code] = answers.get(r.status_code, 0) + 1
        if r.status_code >= 500:
            failures.append(f"{method} {path} {content_type!r} -> {r.status_code}")
        elif r.status_code >= 400:
            body_out: Any = r.json()
            # FHIR answers its own errors as an OperationOutcome (docs/api.md)
            issues = body_out.get("issue") if body_out.get("resourceType") else None
            detail = issues[0].get("diagnostics") if issues else body_out.get("detail")
            assert detail, f"{method} {path}: a 4xx that does not say why"

    fuzz()
    assert failures == [], failures[:20]
    assert {401, 422} <= set(answers), answers  # the bodies reached validation too


@pytest.mark.parametrize("size", [2 * 1024 * 1024, 20 * 1024 * 1024])
def test_huge_bodies_to_every_route_are_refused(server: ServerProcess, size: int) -> None:
    staff, device = asyncio.run(_tokens(server))
    body = b"{" + b" " * size + b"}"
    for method, path in _routes(server):
        if method not in ("POST", "PATCH", "PUT"):
            continue
        bearer = device if path == "/api/v1/readings" else staff
        r = httpx.request(
            method,
            server.url + path,
            content=body,
            timeout=30,
            headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
        )
        limit = 4 * 1024 * 1024 if path == "/api/v1/readings" else 1024 * 1024
        expected = 413 if size > limit else 422
        assert r.status_code in (expected, 403, 404), (method, path, r.status_code)


async def _tokens(server: ServerProcess) -> tuple[str, str]:
    api = Api(server.url)
    try:
        device, _ = await api.monitored()
        return await api.token(ADMIN), str(device["token"])
    finally:
        await api.aclose()


#: Instants that parse but that UTC cannot hold, and one with no offset.
BAD_INSTANTS = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2026-01-01T10:00:00"]


@pytest.mark.parametrize("instant", BAD_INSTANTS)
def test_an_instant_outside_utc_or_without_offset_is_a_422_naming_it(
    server: ServerProcess, instant: str
) -> None:
    """Found by the OpenAPI fuzzer: the audit export answered 500."""
    staff, _ = asyncio.run(_tokens(server))
    auth = {"Authorization": f"Bearer {staff}"}
    for path, name in [
        ("/api/v1/audit", "since"),
        ("/api/v1/audit.csv", "until"),
        ("/api/v1/sessions", "since"),
    ]:
        r = httpx.get(server.url + path, params={name: instant}, headers=auth, timeout=30)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.json()["detail"][0]["loc"] == ["query", name], (path, r.text)
    r = httpx.post(
        server.url + "/api/v1/sessions",
        json={"patient": {"ref": "P-instant"}, "protocol": "custom", "started_at": instant},
        headers=auth,
        timeout=30,
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == "started_at", r.text
