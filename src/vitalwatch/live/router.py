"""WS /api/v1/ws: the live stream for nurses' dashboards."""

from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from vitalwatch.auth.security import decode_access_token
from vitalwatch.context import AppContext
from vitalwatch.live.confirmations import Dashboard
from vitalwatch.live.service import opening_messages
from vitalwatch.logging import get_logger

router = APIRouter(tags=["live"])
log = get_logger(__name__)

CLOSE_UNAUTHORIZED = 4401
MAX_CLIENT_MESSAGE = 256 * 1024


@router.websocket("/api/v1/ws")
async def live(websocket: WebSocket, token: str | None = None, since: int | None = None) -> None:
    ctx: AppContext = websocket.app.state.ctx
    await websocket.accept()
    claims = decode_access_token(ctx.settings.secret_key, token or "")
    if claims is None or claims.role not in ("nurse", "admin"):
        await websocket.close(CLOSE_UNAUTHORIZED, "invalid or expired token")
        return

    async def close(code: int, reason: str) -> None:
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(code, reason), 2.0)

    client = ctx.hub.connect(websocket.send_text, close)
    dashboard = Dashboard(claims.user_id)
    log.info("dashboard_connected", user_id=claims.user_id, since=since)
    try:
        async with ctx.sessionmaker() as db:
            first = await opening_messages(db, ctx, since)
        serving = asyncio.create_task(ctx.hub.serve(client, first))
        receiving = asyncio.create_task(_receive(websocket, ctx, dashboard))
        expiry = asyncio.create_task(_expire(claims.expires_at))
        done, pending = await asyncio.wait(
            {serving, receiving, expiry}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)  # retrieved, not logged
        if expiry in done:
            await close(CLOSE_UNAUTHORIZED, "access token expired")
        for task in done:
            if task is not expiry and not task.cancelled():
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect):
                    log.info("dashboard_link_failed", error=type(exc).__name__)
    finally:
        ctx.hub.disconnect(client)
        ctx.confirmations.gone(dashboard)
        await close(1000, "bye")
        log.info("dashboard_disconnected", user_id=claims.user_id)


async def _receive(websocket: WebSocket, ctx: AppContext, dashboard: Dashboard) -> None:
    """What the dashboard sends (its status and receipts of alarms); reading it
    also notices a close at once. Anything that is not a JSON object is ignored."""
    while True:
        text = await websocket.receive_text()
        if len(text) > MAX_CLIENT_MESSAGE:
            continue
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(message, dict):
            ctx.confirmations.handle(dashboard, message)


async def _expire(expires_at: int) -> None:
    await asyncio.sleep(max(0.0, expires_at - time.time()))
