"""The edge of the service: headers, credentials before bodies, size limits,
slow clients, control characters in paths, /metrics, /docs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import httpx
import orjson
import pytest

from tests.support import NURSE, Api, ServerProcess, raw_request


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


async def test_security_headers_on_pages_and_api(api: Api) -> None:
    for path in ("/", "/admin", "/static/js/app.js", "/api/v1/sessions", "/healthz"):
        r = await api.http.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, path
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"


async def test_pages_have_no_inline_script() -> None:
    from vitalwatch.web.router import STATIC

    for page in STATIC.glob("*.html"):
        html = page.read_text()
        for tag in html.split("<script")[1:]:
            assert "src=" in tag.split(">")[0], f"inline script in {page.name}"
        assert " onclick=" not in html and " onload=" not in html


async def test_docs_are_off_outside_development_and_openapi_stays(api: Api) -> None:
    assert (await api.http.get("/docs")).status_code == 404
    assert (await api.http.get("/redoc")).status_code == 404
    assert (await api.http.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/sessions%00", "/static/js%00/app.js", "/%00", "/api/v1/alarms/1%0a"]
)
async def test_an_encoded_control_character_in_the_path_is_400(
    server: ServerProcess, path: str
) -> None:
    status, _, body, _ = await raw_request(server, f"GET {path} HTTP/1.1\r\nHost: x".encode())
    assert status == 400 and b"control character" in body


async def test_a_huge_body_without_a_token_is_refused_before_it_is_read(
    server: ServerProcess,
) -> None:
    """The head says 100 MiB, the body never comes: the 401 must not wait for it."""
    for path in ("/api/v1/sessions", "/api/v1/devices", "/api/v1/readings", "/api/v1/users"):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {100 * 1024 * 1024}"
        ).encode()
        status, _, body, took = await raw_request(server, head, b'{"samples": [')
        assert status == 401, (path, body)
        assert took < 1.0


async def test_body_limits_per_route(api: Api, server: ServerProcess) -> None:
    token = await api.token(NURSE)
    head = (
        "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {2 * 1024 * 1024}"
    ).encode()
    status, _, body, took = await raw_request(server, head)
    assert status == 413 and b"limit of this route" in body and took < 1.0
    # the login takes 4 KiB at most
    r = await api.http.post("/api/v1/auth/token", data={"username": "x" * 5000, "password": "y"})
    assert r.status_code == 413

    # a body without Content-Length (chunked) is counted while it is read
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 65536

    r = await api.http.post(
        "/api/v1/sessions",
        content=chunks(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text


@pytest.fixture
async def impatient(new_server: Callable[..., ServerProcess]) -> AsyncIterator[ServerProcess]:
    server = new_server(
        VITALWATCH_BODY_TIMEOUT_S="1",
        VITALWATCH_HEADER_TIMEOUT_S="1",
        VITALWATCH_METRICS_PUBLIC="false",
        VITALWATCH_METRICS_TOKEN="scrape-me-please-1234",
    )
    server.start()
    yield server


async def test_a_slow_body_is_cut_off(impatient: ServerProcess) -> None:
    api = Api(impatient.url)
    try:
        token = await api.token(NURSE)
    finally:
        await api.aclose()
    head = (
        "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 500"
    ).encode()
    status, headers, _, took = await raw_request(impatient, head, b'{"patient": ', wait=5)
    assert status == 408 and 0.9 < took < 3 and headers.get("connection") == "close"


async def _answer_until_closed(
    server: ServerProcess, first: bytes = b"", trickle: bytes = b""
) -> tuple[bytes, float]:
    """Send `first` at once, then `trickle` a byte every 0.2 s; everything the
    service answers until it closes the connection, and when it closed (s
    after the last of `first`)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(first)
    await writer.drain()
    started = time.monotonic()

    async def slowly() -> None:
        for byte in trickle:
            await asyncio.sleep(0.2)
            writer.write(bytes([byte]))
            await writer.drain()

    sender = asyncio.create_task(slowly())
    try:
        answer = await asyncio.wait_for(reader.read(), 6)  # until the service closes
    finally:
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender
        writer.close()
    return answer, time.monotonic() - started


async def test_slow_headers_and_silent_connections_are_cut_off(impatient: ServerProcess) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40 + b"\r\n\r\n"
    # a request head a byte every 0.2 s: 408 a second after the connection
    answer, took = await _answer_until_closed(impatient, trickle=head)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"did not arrive in time" in answer
    assert 0.9 < took < 3
    # a connection that sends nothing at all
    answer, took = await _answer_until_closed(impatient)
    assert answer.startswith(b"HTTP/1.1 408 ") and 0.9 < took < 3
    # a kept-alive connection: the first request answered, the next head trickles
    fast = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    answer, took = await _answer_until_closed(impatient, fast, trickle=head)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1 408 ") == 1
    assert 0.9 < took < 3
    # a head that arrives in parts within the deadline is served as usual
    reader, writer = await asyncio.open_connection("127.0.0.1", impatient.port)
    for part in (fast[:10], fast[10:]):
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(0.4)
    assert (await asyncio.wait_for(reader.readline(), 3)).startswith(b"HTTP/1.1 200 ")
    writer.close()


async def test_metrics_need_their_token(impatient: ServerProcess) -> None:
    url = impatient.url + "/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = httpx.get(url, headers={"Authorization": "Bearer scrape-me-please-1234"})
    assert r.status_code == 200 and "vitalwatch_ingest_requests_total" in r.text


async def test_readings_too_many_samples_and_bad_bytes(api: Api, server: ServerProcess) -> None:
    device, _ = await api.monitored()
    headers = {"Authorization": f"Bearer {device['token']}", "Content-Type": "application/json"}
    many = orjson.dumps({"samples": [{"seq": i, "hr": 70} for i in range(10_001)]})
    started = time.monotonic()
    r = await api.http.post("/api/v1/readings", content=many, headers=headers)
    assert r.status_code == 422 and "at most 10,000 samples" in r.text
    assert r.json()["detail"][0]["loc"] == ["body", "samples"]
    assert time.monotonic() - started < 3 and len(r.content) < 1000  # nothing echoed
    head = (
        f"POST /api/v1/readings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {device['token']}"
        f"\r\nContent-Type: application/json\r\nContent-Length: {15 * 1024 * 1024}"
    ).encode()
    status, answer_headers, body, took = await raw_request(server, head, b'{"samples": [')
    assert status == 413 and b"4,194,304 bytes" in body and took < 1
    assert answer_headers["connection"] == "close"  # the rest is never read
    for body in (b"\xff\xfe\x00garbage", b'{"samples": [{"seq": 1, "hr": "\xff"}]}', b"", b"[]"):
        r = await api.http.post("/api/v1/readings", content=body, headers=headers)
        assert r.status_code == 422, (body, r.status_code, r.text)
        assert len(r.content) < 1000
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        r = await api.http.post(
            "/api/v1/readings",
            content=b"hr=70",
            headers={**headers, "Content-Type": content_type},
        )
        assert 400 <= r.status_code < 500


async def test_a_422_never_echoes_the_whole_input(api: Api) -> None:
    device, _ = await api.monitored()
    big = {"samples": "x" * 100_000}
    r = await api.http.post(
        "/api/v1/readings", json=big, headers={"Authorization": f"Bearer {device['token']}"}
    )
    assert r.status_code == 422 and len(r.content) < 1000
    error = r.json()["detail"][0]
    assert error["loc"] == ["body", "samples"] and error["input"].endswith("…")
    r = await api.http.post(
        "/api/v1/readings",
        json={"samples": [{"seq": 1, "hr": 70}, {"seq": 2, "spo2": 300}]},
        headers={"Authorization": f"Bearer {device['token']}"},
    )
    error = r.json()["detail"][0]
    assert error["loc"] == ["body", "samples", 1, "spo2"] and error["input"] == 300
    r = await api.http.post(
        "/api/v1/sessions",
        json={"patient": {"ref": "R" * 5000}, "protocol": "custom"},
        headers=await api.auth(),
    )
    assert r.status_code == 422 and len(r.content) < 1500
