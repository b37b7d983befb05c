"""The live socket: auth by first message, Origin checked, a cap per token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import websockets

from tests.support import NURSE, Api, ServerProcess, close_code, live_socket


@pytest.fixture(scope="module")
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def capped(
    new_server: Callable[..., ServerProcess],
) -> AsyncIterator[tuple[ServerProcess, Api]]:
    server = new_server(
        VITALWATCH_WS_MAX_PER_TOKEN="2",
        VITALWATCH_ALLOWED_ORIGINS="https://station.clinic.example",
    )
    server.start()
    api = Api(server.url)
    yield server, api
    await api.aclose()


async def test_auth_message_first_then_snapshot(api: Api, server: ServerProcess) -> None:
    ws = await live_socket(server, await api.token(NURSE))
    assert '"type":"snapshot"' in (await ws.recv()).replace(" ", "")
    await ws.send(
        '{"type": "status", "visible": true, "sound": false}'
    )  # typed: handled or ignored
    await ws.send('{"type": "who-knows"}')
    await ws.send("not json at all")
    pong = await ws.ping()
    await pong  # the socket is still served
    await ws.close()


async def test_no_auth_message_in_time_closes_4401(server: ServerProcess) -> None:
    ws = await websockets.connect(server.ws_url)
    assert await close_code(ws, 8) == 4401


async def test_origin_is_checked(capped: tuple[ServerProcess, Api]) -> None:
    server, api = capped
    token = await api.token(NURSE)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(server.ws_url, origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    for origin in (f"http://127.0.0.1:{server.port}", "https://station.clinic.example"):
        ws = await websockets.connect(server.ws_url, origin=origin)  # type: ignore[arg-type]
        await ws.send(f'{{"type": "auth", "token": "{token}"}}')
        assert "snapshot" in await ws.recv()
        await ws.close()


async def test_sockets_per_token_are_capped(capped: tuple[ServerProcess, Api]) -> None:
    server, api = capped
    token = await api.token(NURSE)
    first = [await live_socket(server, token) for _ in range(2)]
    for ws in first:
        assert "snapshot" in await ws.recv()
    extra = await live_socket(server, token)
    assert await close_code(extra) == 4429
    await first[0].close()
    # The place frees when the server has run the closed socket's cleanup,
    # which may be a moment after the close handshake the client saw.
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        again = await live_socket(server, token)
        try:
            assert "snapshot" in await again.recv()
            break
        except websockets.ConnectionClosedError as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4429
            assert asyncio.get_running_loop().time() < deadline, "the place never freed"
            await asyncio.sleep(0.05)
