"""Login throttling per account and per client address, with growing back-off.

Each key (an account name, a client address) counts its failed logins within
`window_s`. Once a key has `free` failures, every further attempt must wait
`2 ** (failures - free)` seconds after the last failure (at most `max_delay_s`):
1, 2, 4, 8 ... s. A throttled attempt is answered 429 with Retry-After before
any password is hashed, so an attacker's guesses cost the service almost
nothing. A successful login clears its account's count (not the address's:
one right password must not hide a spray from the same place).

One process (SQLite or PostgreSQL without Redis) keeps the counts in memory:
that process sees every login. Several processes (production mode) keep them
in Redis, so the limit holds whichever process a login reaches.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from vitalwatch.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    account_free: int = 5
    address_free: int = 20
    window_s: float = 900.0
    max_delay_s: float = 900.0

    def delay(self, failures: int, free: int) -> float:
        if failures < free:
            return 0.0
        return float(min(self.max_delay_s, 2.0 ** min(failures - free, 30)))


class LoginThrottle(Protocol):
    async def retry_after(self, username: str, address: str) -> int | None:
        """Seconds to wait before this login may be tried; None: go ahead."""

    async def failed(self, username: str, address: str) -> None: ...

    async def succeeded(self, username: str, address: str) -> None: ...

    async def aclose(self) -> None: ...


def _wait(policy: ThrottlePolicy, state: list[tuple[int, float, int]], now: float) -> int | None:
    worst = 0.0
    for failures, last, free in state:
        worst = max(worst, last + policy.delay(failures, free) - now)
    return math.ceil(worst) if worst > 0 else None


class MemoryThrottle:
    """Counts in this process (one service process sees every login)."""

    def __init__(self, policy: ThrottlePolicy, max_keys: int = 100_000) -> None:
        self._policy = policy
        self._max_keys = max_keys
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (failures, last failure)

    def _get(self, key: str, now: float) -> tuple[int, float]:
        hit = self._counts.get(key)
        if hit is None or now - hit[1] > self._policy.window_s:
            return 0, 0.0
        return hit

    async def retry_after(self, username: str, address: str) -> int | None:
        now = time.time()
        account = self._get("u:" + username.lower(), now)
        addr = self._get("a:" + address, now)
        return _wait(
            self._policy,
            [(*account, self._policy.account_free), (*addr, self._policy.address_free)],
            now,
        )

    async def failed(self, username: str, address: str) -> None:
        now = time.time()
        if len(self._counts) >= self._max_keys:
            self._expire(now)
        for key in ("u:" + username.lower(), "a:" + address):
            failures, _ = self._get(key, now)
            self._counts[key] = (failures + 1, now)

    async def succeeded(self, username: str, address: str) -> None:
        self._counts.pop("u:" + username.lower(), None)

    def _expire(self, now: float) -> None:
        old = [k for k, (_, last) in self._counts.items() if now - last > self._policy.window_s]
        for key in old:
            del self._counts[key]
        if len(self._counts) >= self._max_keys:  # a flood of distinct names: forget the oldest
            oldest = sorted(self._counts, key=lambda k: self._counts[k][1])
            for key in oldest[: self._max_keys // 10]:
                del self._counts[key]

    async def aclose(self) -> None:
        return None


#: Count one failure: HINCRBY failures, HSET last, PEXPIRE window (one round trip).
_FAILED = """
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
"""


class RedisThrottle:
    """Counts in Redis, shared by every service process of one deployment.

    If Redis cannot be reached the login is not throttled (and this is logged):
    staff must still be able to sign in to see alarms while Redis restarts.
    """

    def __init__(self, policy: ThrottlePolicy, redis_url: str, prefix: str) -> None:
        self._policy = policy
        self._redis: Any = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = f"{prefix}:login"
        self._failed = self._redis.register_script(_FAILED)

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return f"{self._prefix}:u:{username.lower()}", f"{self._prefix}:a:{address}"

    async def retry_after(self, username: str, address: str) -> int | None:
        account, addr = self._keys(username, address)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hmget(account, "failures", "last")
                pipe.hmget(addr, "failures", "last")
                got = await pipe.execute()
        except RedisError as exc:
            log.warning("login_throttle_unavailable", error=type(exc).__name__)
            return None
        state = []
        for (failures, last), free in zip(
            got, (self._policy.account_free, self._policy.address_free), strict=True
        ):
            if failures is not None and last is not None:
                state.append((int(failures), float(last), free))
        return _wait(self._policy, state, time.time())

    async def failed(self, username: str, address: str) -> None:
        ttl_ms = int(self._policy.window_s * 1000)
        try:
            for key in self._keys(username, address):
                await self._failed(keys=[key], args=[repr(time.time()), ttl_ms])
        except RedisError as exc:
            log.warning("login_throttle_unavailable", error=type(exc).__name__)

    async def succeeded(self, username: str, address: str) -> None:
        try:
            await self._redis.delete(self._keys(username, address)[0])
        except RedisError as exc:
            log.warning("login_throttle_unavailable", error=type(exc).__name__)

    async def aclose(self) -> None:
        await self._redis.aclose()
