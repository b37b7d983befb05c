"""Real peers for secondary notification tests and bench/notify.py: an HTTP
receiver that checks the webhook signature as docs/api.md tells a receiver to
(also the ntfy-style receiver, without a secret), an SMTP mailbox (aiosmtpd),
and API helpers, among them a way to escalate an alarm."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support import ADMIN, Api, free_port, now_utc, samples, wait_for

#: The replay window a receiver allows (docs/api.md recommends 300 s).
WINDOW_S = 300


def signature_ok(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """The receiver's check, written from docs/api.md (not from the service's code)."""
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + expected.hexdigest(), header)


@dataclass
class Received:
    at: float  # time.time() of arrival
    headers: dict[str, str]
    body: bytes
    verdict: str  # "ok", or why the receiver refused it

    @property
    def key(self) -> str:
        return self.headers.get("idempotency-key", "")

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """A real HTTP server on a loopback port, recording every request."""

    secret: str | None = None  # set: check the webhook signature and replay window
    port: int = field(default_factory=free_port)
    status: int = 200  # what it answers (set 500 to make it fail)
    hold_s: float = 0.0  # wait before answering (to kill the sender meanwhile)
    got: list[Received] = field(default_factory=list)
    #: Set on every request (clear it to wait for the next one).
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> PlainTextResponse:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        verdict = "ok"
        if self.secret is not None:
            ts = headers.get("x-vitalwatch-timestamp", "")
            sig = headers.get("x-vitalwatch-signature", "")
            if not ts.isdigit() or abs(time.time() - int(ts)) > WINDOW_S:
                verdict = "timestamp outside the replay window"
            elif not signature_ok(self.secret, ts, body, sig):
                verdict = "bad signature"
        self.got.append(Received(time.time(), headers, body, verdict))
        self.arrived.set()
        if self.hold_s:
            await asyncio.sleep(self.hold_s)
        if verdict != "ok":
            return PlainTextResponse(verdict, status_code=401)
        return PlainTextResponse("thanks", status_code=self.status)

    async def start(self) -> Receiver:
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._server = None

    def accepted(self) -> list[Received]:
        return [r for r in self.got if r.verdict == "ok"]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox

    @property
    def messages(self) -> list[Message]:
        return self.mailbox.messages


def smtp_env(smtp: SmtpServer) -> dict[str, str]:
    return {
        "VITALWATCH_NOTIFY_SMTP_HOST": "127.0.0.1",
        "VITALWATCH_NOTIFY_SMTP_PORT": str(smtp.port),
        "VITALWATCH_NOTIFY_SMTP_SECURITY": "none",
        "VITALWATCH_NOTIFY_SMTP_FROM": "vitalwatch@clinic.test",
    }


async def add_target(api: Api, **body: Any) -> dict[str, Any]:
    r = await api.http.post("/api/v1/notify/targets", json=body, headers=await api.auth(ADMIN))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def set_chain(api: Api, *steps: tuple[int, int]) -> list[dict[str, Any]]:
    r = await api.http.put(
        "/api/v1/notify/chain",
        json={"steps": [{"target_id": t, "delay_s": d} for t, d in steps]},
        headers=await api.auth(ADMIN),
    )
    assert r.status_code == 200, r.text
    return list(r.json())


async def escalate(api: Api) -> tuple[dict[str, Any], dict[str, Any], float]:
    """A new monitored session whose alarm is escalated: (session, alarm, time of trigger).

    A high SBP alarm that no visible, sound-enabled dashboard showed is handed
    to secondary notification after the delivery timeout (5 s); the trigger is
    the alarm's `escalated_at`.
    """
    device, session = await api.monitored()
    t0 = now_utc() - timedelta(seconds=10)
    r = await api.post(device["token"], samples(t0, 1, sbp=190, dbp=95, hr=80))
    assert r.status_code == 202, r.text

    async def escalated() -> dict[str, Any] | None:
        r = await api.http.get(
            "/api/v1/alarms", params={"session_id": session["id"]}, headers=await api.auth()
        )
        alarm = next(a for a in r.json() if a["rule"] == "bp")
        return alarm if alarm["escalated_at"] else None

    alarm = await wait_for(escalated, timeout=15)
    assert alarm["priority"] == "high", alarm
    trigger = datetime.fromisoformat(alarm["escalated_at"]).timestamp()
    return session, alarm, trigger


async def alarm_log(api: Api, alarm_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(f"/api/v1/alarms/{alarm_id}/log", headers=await api.auth())
    assert r.status_code == 200, r.text
    return list(r.json())


async def outbox(api: Api, alarm_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(
        "/api/v1/notify/outbox", params={"alarm_id": alarm_id}, headers=await api.auth()
    )
    assert r.status_code == 200, r.text
    return list(r.json())


#: Fast retries, so a test sees several attempts within seconds.
FAST_RETRIES = {
    "VITALWATCH_NOTIFY_RETRY_BASE_S": "0.5",
    "VITALWATCH_NOTIFY_RETRY_MAX_S": "2",
    "VITALWATCH_NOTIFY_TIMEOUT_S": "5",
    # the station's own "no dashboard is watching" alarm would be notified too
    # once a module's server has run 30 s unwatched (a loaded run): these tests
    # count the notifications of the alarms they raise
    "VITALWATCH_UNWATCHED_AFTER_S": "3600",
}


async def just(value: Any) -> Any:
    """`value` as an awaitable, for wait_for on something a receiver collects."""
    return value
