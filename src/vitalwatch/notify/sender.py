"""Each partition's sender: delivers its due outbox rows, at least once.

Only the owner of a partition sends its rows (`session_id % count == index`),
so in production mode exactly one process sends a notification, and a new
owner continues the rows of the old one. A row being sent carries
`claimed_at`; a crash leaves it set, and the next start of the partition (this
process after a restart, or the process that took the partition over) makes
it due again. The receiver can see a notification twice then, with the same
idempotency key. Every attempt and its outcome is an alarm-log row
("notified" / "notify_failed"); failures are retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from vitalwatch import __version__
from vitalwatch.alarms import repository as alarms_repo
from vitalwatch.config import Settings
from vitalwatch.db import unit_of_work
from vitalwatch.logging import get_logger
from vitalwatch.notify import links, repository
from vitalwatch.notify.channels import DeliveryFailed, Destination, deliver
from vitalwatch.notify.messages import AlarmFacts, alarm_notice
from vitalwatch.notify.models import NotifyOutbox, NotifyTarget
from vitalwatch.notify.outbox import Outbox

log = get_logger(__name__)

#: Attempts under way at once per partition (a slow target does not hold up others).
MAX_INFLIGHT = 32
PROCESS = f"{socket.gethostname()}:{os.getpid()}"

Fence = Callable[[AsyncConnection], Awaitable[None]]


def http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={"User-Agent": f"VitalWatch/{__version__} (secondary notification)"},
        follow_redirects=False,
    )


def backoff_s(settings: Settings, attempt: int) -> float:
    """The wait after failed attempt `attempt` (1, 2, ...): base * 2^(attempt-1), capped."""
    return float(
        min(settings.notify_retry_max_s, settings.notify_retry_base_s * 2 ** (attempt - 1))
    )


def ack_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/ack#{token}"


class NotifySender:
    def __init__(
        self,
        settings: Settings,
        maker: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        *,
        index: int,
        count: int,
        fence: Fence,
    ) -> None:
        self._settings = settings
        self._maker = maker
        self._outbox = outbox
        self._index = index
        self._count = count
        self._fence = fence
        self._http: httpx.AsyncClient | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        async with unit_of_work(self._maker) as db:
            conn = await db.connection()
            await self._fence(conn)
            again = await repository.release_claims(conn, self._index, self._count)
        if again:
            log.info("notify_resumed", partition=self._index, rows=again)
        self._http = http_client()
        self._wake = self._outbox.listen()
        self._task = asyncio.create_task(self._run(), name=f"notify-sender-{self._index}")

    async def stop(self) -> None:
        """Stop at once: an attempt cut short stays claimed and is sent again later."""
        tasks = [t for t in (self._task, *self._inflight) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._wake is not None:
            self._outbox.forget(self._wake)
        if self._http is not None:
            await self._http.aclose()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.notify_poll_s)
            self._wake.clear()
            try:
                await self._round()
            except Exception:
                log.exception("notify_round_failed", partition=self._index)
                await asyncio.sleep(1.0)

    async def _round(self) -> None:
        free = MAX_INFLIGHT - len(self._inflight)
        if free <= 0:
            return
        now = datetime.now(UTC)
        async with unit_of_work(self._maker) as db:
            conn = await db.connection()
            if not await repository.any_due(conn, self._index, self._count, now):
                return
            await self._fence(conn)
            claimed = await repository.claim_due(conn, self._index, self._count, now, free)
            for outbox_id, alarm_state in claimed:
                if alarm_state != "active":  # answered meanwhile: nothing to send
                    await repository.finish(
                        conn, outbox_id, {"state": "cancelled", "last_error": alarm_state}
                    )
        for outbox_id, alarm_state in claimed:
            if alarm_state == "active":
                task = asyncio.create_task(self._send(outbox_id))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)

    async def _send(self, outbox_id: int) -> None:
        assert self._http is not None
        async with unit_of_work(self._maker) as db:
            row = await repository.delivery(db, outbox_id)
        if row is None:
            return
        out, target, alarm, room, username, user_active = row
        if alarm.state != "active":
            await self._finish(out.id, {"state": "cancelled", "last_error": alarm.state})
            return
        link: str | None = None
        if target.user_id is not None and username is not None and user_active:
            expires = int(time.time()) + self._settings.notify_link_ttl_s
            token = links.mint(
                self._settings.secret_key,
                links.LinkClaims(out.id, alarm.id, target.user_id, expires),
            )
            link = ack_url(self._settings, token)
        notice = alarm_notice(
            key=out.key,
            alarm=AlarmFacts(
                id=alarm.id,
                session_id=alarm.session_id or 0,
                room=room,
                priority=alarm.priority,
                kind=alarm.kind,
                rule=alarm.rule,
                state=alarm.state,
                message=alarm.message,
                value=alarm.value,
                threshold=alarm.threshold,
                raised_at=alarm.raised_at,
                escalated_at=alarm.escalated_at,
            ),
            reason=out.reason,
            step=out.step,
            attempt=out.attempts,
            ack_url=link,
            ack_as=username if link else None,
            station_url=self._settings.public_url + "/",
            created_at=out.created_at,
        )
        dest = Destination(target.id, target.name, target.kind, target.address, target.secret)
        started = time.perf_counter()
        ok = False
        try:
            outcome = await deliver(dest, notice, self._settings, self._http)
            ok = True
        except DeliveryFailed as exc:
            outcome = str(exc)
        except Exception as exc:
            log.exception("notify_send_error", outbox_id=out.id)
            outcome = f"internal error ({type(exc).__name__})"
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        await self._record(out, target, alarm, ok, outcome, elapsed_ms)

    async def _record(
        self,
        out: NotifyOutbox,
        target: NotifyTarget,
        alarm: Any,
        ok: bool,
        outcome: str,
        elapsed_ms: float,
    ) -> None:
        now = datetime.now(UTC)
        attempt = out.attempts
        where = f"{target.name} ({target.kind})"
        detail: dict[str, Any] = {
            "outbox_id": out.id,
            "target_id": target.id,
            "target": target.name,
            "kind": target.kind,
            "step": out.step,
            "attempt": attempt,
            "key": out.key,
            "outcome": outcome,
            "elapsed_ms": elapsed_ms,
            "process": PROCESS,
            "partition": self._index,
        }
        if ok:
            action, values = "notified", {"state": "sent", "sent_at": now, "last_error": None}
            message = f"Secondary notification sent to {where}: {outcome} (attempt {attempt})"
        elif attempt >= self._settings.notify_max_attempts:
            action, values = "notify_failed", {"state": "failed", "last_error": outcome}
            message = (
                f"Secondary notification to {where} failed: {outcome}; "
                f"gave up after {attempt} attempts"
            )
        else:
            wait = backoff_s(self._settings, attempt)
            due = now + timedelta(seconds=wait)
            action, values = "notify_failed", {"due_at": due, "last_error": outcome}
            detail["next_attempt_at"] = due.isoformat()
            message = (
                f"Secondary notification to {where} failed: {outcome} "
                f"(attempt {attempt}); next attempt in {wait:g} s"
            )
        async with unit_of_work(self._maker) as db:
            conn = await db.connection()
            await self._fence(conn)
            await repository.finish(conn, out.id, values)
            await alarms_repo.insert_log(
                conn,
                [
                    {
                        "alarm_id": alarm.id,
                        "ts": now,
                        "action": action,
                        "priority": alarm.priority,
                        "value": alarm.value,
                        "threshold": alarm.threshold,
                        "message": message,
                        "user": None,
                        "detail": detail,
                        "created_at": now,
                    }
                ],
            )
        log.info(
            "notify_attempt",
            outbox_id=out.id,
            alarm_id=alarm.id,
            target_id=target.id,
            attempt=attempt,
            ok=ok,
            outcome=outcome,
        )

    async def _finish(self, outbox_id: int, values: dict[str, Any]) -> None:
        async with unit_of_work(self._maker) as db:
            conn = await db.connection()
            await self._fence(conn)
            await repository.finish(conn, outbox_id, values)
