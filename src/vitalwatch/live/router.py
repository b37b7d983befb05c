"""WS /api/v1/ws: the live stream for nurses' dashboards.

The dashboard authenticates with its first message, `{"type": "auth",
"token": "<access token>"}` (the token stays out of URLs and so out of every
access log); `?token=` is still accepted for one release (deprecated). After
that the socket's messages are typed and dispatched (`HANDLERS`); unknown
types are ignored. Browser Origins other than the service's own (and
`VITALWATCH_ALLOWED_ORIGINS`) are refused before the upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from vitalwatch.auth.security import decode_access_token
from vitalwatch.context import AppContext
from vitalwatch.db import unit_of_work
from vitalwatch.live.confirmations import Dashboard
from vitalwatch.live.service import SnapshotParts, opening_messages
from vitalwatch.live.sockets import LiveSocket
from vitalwatch.logging import get_logger
from vitalwatch.overview.service import Ward

router = APIRouter(tags=["live"])
log = get_logger(__name__)

#: Close codes (docs/api.md, "Live stream"); the dashboard explains each.
CLOSE_UNAUTHORIZED = 4401  # no, bad or expired token: sign in again
CLOSE_REVOKED = 4403  # signed out: account disabled, password changed, "sign out everywhere"
CLOSE_TOO_MANY = 4429  # this sign-in already holds VITALWATCH_WS_MAX_PER_TOKEN sockets
#: How long a new socket may take to send its auth message.
AUTH_TIMEOUT_S = 5.0
#: A socket re-checks its token against the user at least this often (changes
#: made on another process arrive sooner, through the revocation bus).
RECHECK_S = 2.0

#: A dashboard message larger than this is ignored (a snapshot's receipts fit).
MAX_CLIENT_MESSAGE = 256 * 1024


def origin_allowed(websocket: WebSocket, allowed: frozenset[str]) -> bool:
    """No Origin (not a browser), the service's own host, or one configured."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if origin.rstrip("/") in allowed:
        return True
    host = websocket.headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc.lower() == host.lower()


async def _first_token(websocket: WebSocket) -> str | None:
    """The token of the auth message that must come first."""
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S)
        message = orjson.loads(raw)
    except (TimeoutError, orjson.JSONDecodeError, KeyError, WebSocketDisconnect, RuntimeError):
        return None
    if not isinstance(message, dict) or message.get("type") != "auth":
        return None
    token = message.get("token")
    return token if isinstance(token, str) else None


@router.websocket("/api/v1/ws")
async def live(websocket: WebSocket, since: int | None = None) -> None:
    ctx: AppContext = websocket.app.state.ctx
    if not origin_allowed(websocket, ctx.settings.origins):
        log.info("dashboard_origin_refused")
        await websocket.close(CLOSE_REVOKED)  # before accept: an HTTP 403
        return
    await websocket.accept()
    token = websocket.query_params.get("token")  # deprecated: one more release
    deprecated = token is not None
    if token is None:
        token = await _first_token(websocket)
    signed = decode_access_token(ctx.settings.secret_key, token or "")
    claims = await ctx.users.accept(signed) if signed is not None else None
    if claims is None or claims.role not in ("nurse", "admin"):
        await _close(websocket, CLOSE_UNAUTHORIZED, "invalid or expired token: sign in again")
        return
    socket = ctx.sockets.add(claims)
    if socket is None:
        await _close(websocket, CLOSE_TOO_MANY, "too many live connections for this sign-in")
        return
    try:
        await _serve(websocket, ctx, socket, since, deprecated)
    finally:
        ctx.sockets.remove(socket)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(code, reason), 2.0)


async def _serve(
    websocket: WebSocket, ctx: AppContext, socket: LiveSocket, since: int | None, deprecated: bool
) -> None:
    claims = socket.claims

    async def close(code: int, reason: str) -> None:
        await _close(websocket, code, reason)

    client = ctx.hub.connect(websocket.send_text, close)
    dashboard = Dashboard(claims.user_id)
    log.info("dashboard_connected", user_id=claims.user_id, since=since, query_token=deprecated)
    try:
        async with unit_of_work(ctx.sessionmaker) as db:
            ward = Ward(ctx.latest, ctx.settings)
            parts = SnapshotParts(ctx.sessionmaker, ctx.hub, ward)
            first = await opening_messages(db, parts, since)
        serving = asyncio.create_task(ctx.hub.serve(client, first))
        receiving = asyncio.create_task(_receive(websocket, ctx, dashboard))
        expiry = asyncio.create_task(_expire(claims.expires_at))
        revoked = asyncio.create_task(_watch(ctx, socket))
        done, pending = await asyncio.wait(
            {serving, receiving, expiry, revoked}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)  # retrieved, not logged
        if expiry in done:
            await close(CLOSE_UNAUTHORIZED, "access token expired")
        if revoked in done:
            log.info("dashboard_revoked", user_id=claims.user_id)
            await close(CLOSE_REVOKED, "signed out: sign in again")
        for task in done:
            if task not in (expiry, revoked) and not task.cancelled():
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect):
                    log.info("dashboard_link_failed", error=type(exc).__name__)
    finally:
        ctx.hub.disconnect(client)
        ctx.confirmations.gone(dashboard)
        await close(1000, "bye")
        log.info("dashboard_disconnected", user_id=claims.user_id)


async def _receive(websocket: WebSocket, ctx: AppContext, dashboard: Dashboard) -> None:
    """The dashboard's typed messages after auth: its status and its receipts of
    alarms (live/confirmations.py); malformed or unknown ones are ignored."""
    while True:
        raw = await websocket.receive_text()
        if len(raw) > MAX_CLIENT_MESSAGE:
            continue
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(message, dict):
            ctx.confirmations.handle(dashboard, message)


async def _watch(ctx: AppContext, socket: LiveSocket) -> None:
    """Return once the socket's token is no longer accepted for its user."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(socket.recheck.wait(), RECHECK_S)
        socket.recheck.clear()
        try:
            accepted = await ctx.users.accept(socket.claims)
        except Exception as exc:  # database away: keep the nurse's screen, ask again
            log.info("dashboard_recheck_failed", error=type(exc).__name__)
            continue
        if accepted is None:
            return


async def _expire(expires_at: int) -> None:
    await asyncio.sleep(max(0.0, expires_at - time.time()))
