"""Password hashing (argon2id), staff access tokens (JWT) and device tokens.

argon2 is deliberately slow and takes 64 MiB per check, so checks run in a
small pool of worker threads of their own (argon2 releases the GIL), at a
lower CPU priority than the event loop that carries alarms, and no more than
`MAX_WAITING` logins may wait for a worker: past that a login is told to try
again (503) instead of piling up memory and delay. Each worker also rests
after a check for as long as the check took, times (1 / duty - 1): under a
flood of wrong passwords argon2's memory traffic then takes at most `duty`
of a core from the alarm path (a clinic signs in a few times a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from vitalwatch.errors import Unavailable

_hasher = PasswordHasher()
_ALGORITHM = "HS256"


@functools.cache
def _dummy_hash() -> str:
    """A valid hash to verify against when the user does not exist, so a login
    for an unknown name takes as long as one with a wrong password. Made once,
    in the pool (not on import: every command-line call would pay an argon2)."""
    return _hasher.hash(secrets.token_urlsafe(16))


DEVICE_TOKEN_PREFIX = "vwd_"  # noqa: S105 - a prefix, not a secret
#: Hashing threads run at this nice value (Linux: per thread), so the event
#: loop wins the CPU when both want it.
_HASH_NICE = 19


class HashingBusy(Unavailable):
    """Too many password checks are already waiting: answer 503, try again."""

    def __init__(self) -> None:
        super().__init__("Too many sign-ins at once; try again in a moment")


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _HASH_NICE)


class HashPool:
    """A bounded pool for argon2: `workers` threads, at most `max_waiting` queued."""

    def __init__(self, workers: int = 2, max_waiting: int = 64, duty: float = 1.0) -> None:
        self._executor = ThreadPoolExecutor(
            workers, thread_name_prefix="argon2", initializer=_lower_priority
        )
        self._max_waiting = max_waiting
        self._pending = 0
        self._rest_factor = 1.0 / duty - 1.0
        #: Per worker thread: when it may start its next check.
        self._worker = threading.local()
        self._executor.submit(_dummy_hash)  # ready before the first unknown name

    async def run(self, fn: Callable[[], bool]) -> bool:
        if self._pending >= self._max_waiting:
            raise HashingBusy

        def paced() -> bool:
            wait = getattr(self._worker, "ready_at", 0.0) - time.monotonic()
            if wait > 0:  # this worker's rest after its last check
                time.sleep(wait)
            started = time.monotonic()
            try:
                return fn()
            finally:
                took = time.monotonic() - started
                self._worker.ready_at = time.monotonic() + took * self._rest_factor

        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, paced)
        finally:
            self._pending -= 1

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; an absent hash costs the same and is False."""

        def _verify() -> bool:
            try:
                ok = _hasher.verify(password_hash or _dummy_hash(), password)
            except (VerificationError, InvalidHashError):
                return False
            return ok and bool(password_hash)

        return await self.run(_verify)

    async def hash(self, password: str) -> str:
        out: list[str] = []

        def _hash() -> bool:
            out.append(_hasher.hash(password))
            return True

        await self.run(_hash)
        return out[0]

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def hash_password(password: str) -> str:
    """Synchronous: for the command line, where no event loop carries alarms."""
    return _hasher.hash(password)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    username: str
    role: str
    expires_at: int
    #: The user's token version when it was issued (see auth.models.User).
    version: int = 0
    #: This token's own id: caps and closes its WebSockets.
    token_id: str = ""


def create_access_token(
    secret: str, user_id: int, username: str, role: str, ttl_s: int, version: int = 0
) -> str:
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "name": username,
        "role": role,
        "ver": version,
        "jti": secrets.token_urlsafe(12),
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def decode_access_token(secret: str, token: str) -> TokenClaims | None:
    """The claims of a validly signed, unexpired token; None for anything else.
    Whether its user still accepts it is auth.directory's question."""
    if token.count(".") != 2 or len(token) > 4096:
        return None
    try:
        payload = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub", "role"]}
        )
        return TokenClaims(
            user_id=int(payload["sub"]),
            username=str(payload.get("name", "")),
            role=str(payload["role"]),
            expires_at=int(payload["exp"]),
            version=int(payload.get("ver", 0)),
            token_id=str(payload.get("jti", "")),
        )
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None


def new_device_token() -> str:
    return DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def device_token_hash(token: str) -> str:
    """SHA-256: device tokens carry 256 random bits, so no slow KDF is needed."""
    return hashlib.sha256(token.encode()).hexdigest()
