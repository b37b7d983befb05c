"""Is a signed staff token still good? The user must exist, be active and still
be at the token's version (a password change, disabling, a role change or
"sign out everywhere" bumps it).

Every request and every live socket asks here. Answers are cached for
`ttl_s` (a few seconds) so a busy ward costs few lookups; a change made in
this process is applied at once (`invalidate`), and in production mode it is
announced to the other processes over Redis pub/sub (`RevocationBus`), which
apply it at once too; if that message is lost the cache runs out within
`ttl_s` anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.auth.models import User
from vitalwatch.auth.security import TokenClaims
from vitalwatch.db import unit_of_work
from vitalwatch.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class UserState:
    id: int
    username: str
    role: str
    active: bool
    token_version: int


Listener = Callable[[int], None]


class UserDirectory:
    def __init__(self, maker: async_sessionmaker[AsyncSession], ttl_s: float = 3.0) -> None:
        self._maker = maker
        self._ttl_s = ttl_s
        self._cache: dict[int, tuple[UserState | None, float]] = {}
        self._listeners: list[Listener] = []
        self.bus: RevocationBus | None = None

    async def state(self, user_id: int) -> UserState | None:
        now = time.monotonic()
        hit = self._cache.get(user_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with unit_of_work(self._maker) as db:
            user = await db.get(User, user_id)
            state = (
                None
                if user is None
                else UserState(user.id, user.username, user.role, user.active, user.token_version)
            )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[user_id] = (state, now + self._ttl_s)
        return state

    async def accept(self, claims: TokenClaims) -> TokenClaims | None:
        """The claims (with the user's current name and role) if the token's user
        still accepts it; None when the user is gone, disabled or signed out."""
        state = await self.state(claims.user_id)
        if state is None or not state.active or state.token_version != claims.version:
            return None
        return replace(claims, username=state.username, role=state.role)

    def on_change(self, listener: Listener) -> None:
        """Called with a user id whenever that user's tokens may have been revoked."""
        self._listeners.append(listener)

    def invalidate(self, user_id: int) -> None:
        """Forget the cached state and tell the listeners (live sockets) at once."""
        self._cache.pop(user_id, None)
        for listener in self._listeners:
            listener(user_id)

    async def changed(self, user_id: int) -> None:
        """A user's account changed here: apply it in this process and announce it."""
        self.invalidate(user_id)
        if self.bus is not None:
            await self.bus.publish(f"user:{user_id}")


class RevocationBus:
    """Redis pub/sub between the processes of one deployment: "user:<id>" and
    "device:<token hash>" messages make every process drop its cached answer."""

    def __init__(self, redis_url: str, prefix: str, on_message: Callable[[str], None]) -> None:
        self._redis: Any = Redis.from_url(redis_url, socket_connect_timeout=2)
        self._channel = f"{prefix}:revoke"
        self._on_message = on_message
        self._task: asyncio.Task[None] | None = None

    async def publish(self, message: str) -> None:
        try:
            await self._redis.publish(self._channel, message)
        except RedisError as exc:  # the others' caches still run out within seconds
            log.warning("revocation_publish_failed", error=type(exc).__name__)

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message["data"]
                            self._on_message(data.decode() if isinstance(data, bytes) else data)
            except (RedisError, OSError) as exc:
                log.warning("revocation_listen_failed", error=type(exc).__name__)
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._redis.aclose()
