"""Password hashing (argon2id), staff access tokens (JWT) and device tokens.

argon2 verification is deliberately slow (tens of ms), so it runs in a worker
thread and never stalls the event loop that carries alarms.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import anyio
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
#: A valid hash to verify against when the user does not exist, so a login
#: for an unknown name takes as long as one with a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
DEVICE_TOKEN_PREFIX = "vwd_"  # noqa: S105 - a prefix, not a secret


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(_verify)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    username: str
    role: str
    expires_at: int


def create_access_token(secret: str, user_id: int, username: str, role: str, ttl_s: int) -> str:
    now = int(time.time())
    payload = {"sub": str(user_id), "name": username, "role": role, "iat": now, "exp": now + ttl_s}
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def decode_access_token(secret: str, token: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token; None for anything else."""
    try:
        payload = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub", "role"]}
        )
        return TokenClaims(
            user_id=int(payload["sub"]),
            username=str(payload.get("name", "")),
            role=str(payload["role"]),
            expires_at=int(payload["exp"]),
        )
    except (jwt.PyJWTError, ValueError, KeyError):
        return None


def new_device_token() -> str:
    return DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def device_token_hash(token: str) -> str:
    """SHA-256: device tokens carry 256 random bits, so no slow KDF is needed."""
    return hashlib.sha256(token.encode()).hexdigest()
