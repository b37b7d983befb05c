"""Staff login and account management.

A login holds no database connection while its password is hashed: it reads
the account, lets the connection go, then verifies in the hash pool. Failed
and throttled logins are audited (user name and client address) through the
audit queue, never by a write of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.audit import service as audit
from vitalwatch.auth import repository
from vitalwatch.auth.directory import UserDirectory
from vitalwatch.auth.models import User
from vitalwatch.auth.policy import check_password
from vitalwatch.auth.schemas import Role, TokenResponse
from vitalwatch.auth.security import HashPool, create_access_token
from vitalwatch.auth.throttle import LoginThrottle
from vitalwatch.config import Settings
from vitalwatch.db import on_commit, unit_of_work
from vitalwatch.errors import Conflict, NotFound, TooMany, Unauthorized
from vitalwatch.logging import get_logger

log = get_logger(__name__)

#: what an admin edits of a staff user besides role and status
PROFILE_FIELDS = ("given_name", "family_name", "credentials", "phone", "email")


class UserExistsError(Conflict):
    def __init__(self, username: str) -> None:
        super().__init__(f"User {username} already exists")


class UserNotFound(NotFound):
    pass


class LoginFailed(Unauthorized):
    """Unknown user, wrong password or disabled account: one answer for all."""

    def __init__(self) -> None:
        super().__init__("Incorrect username or password")


class LoginThrottled(TooMany):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-ins: try again in {retry_after} s", retry_after)


@dataclass(frozen=True, slots=True)
class LoginParts:
    """What a login needs from the running service."""

    maker: async_sessionmaker[AsyncSession]
    settings: Settings
    hashing: HashPool
    throttle: LoginThrottle
    audit: audit.AuditQueue


async def login(parts: LoginParts, username: str, password: str, address: str) -> TokenResponse:
    wait = await parts.throttle.retry_after(username, address)
    if wait is not None:
        parts.audit.add(
            actor=audit.Actor("user", None, username[:64]),
            action="auth.login_throttled",
            entity="user",
            entity_id=None,
            detail={"username": username[:64], "address": address, "retry_after": wait},
            count_as=("throttled", username, address),
        )
        log.info("login_throttled", address=address, retry_after=wait)
        raise LoginThrottled(wait)
    async with unit_of_work(parts.maker) as db:  # closed before hashing: no connection held
        user = await repository.by_username(db, username)
    ok = await parts.hashing.verify(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        await parts.throttle.failed(username, address)
        reason = "unknown user" if user is None else "disabled" if ok else "wrong password"
        parts.audit.add(
            actor=audit.Actor("user", user.id if user else None, username[:64]),
            action="auth.login_failed",
            entity="user",
            entity_id=user.id if user else None,
            detail={"username": username[:64], "address": address, "reason": reason},
        )
        log.info("login_failed", user_id=user.id if user else None, address=address)
        raise LoginFailed
    await parts.throttle.succeeded(username, address)
    token = create_access_token(
        parts.settings.secret_key,
        user.id,
        user.username,
        user.role,
        parts.settings.token_ttl_s,
        user.token_version,
    )
    log.info("login", user_id=user.id)
    role: Role = "admin" if user.role == "admin" else "nurse"
    return TokenResponse(access_token=token, role=role, expires_in=parts.settings.token_ttl_s)


def check_new_password(settings: Settings, username: str, password: str) -> None:
    """Raise policy.WeakPassword when `password` may not be set for `username`."""
    check_password(password, username, settings.password_min_length)


async def create_user(
    db: AsyncSession,
    username: str,
    role: Role,
    password_hash: str,
    actor: audit.Actor = audit.SYSTEM,
) -> User:
    if await repository.by_username(db, username) is not None:
        raise UserExistsError(username)
    user = await repository.add(db, User(username=username, role=role, password_hash=password_hash))
    await audit.record(
        db,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=user.id,
        detail={"username": username, "role": role},
    )
    return user


async def _user(db: AsyncSession, user_id: int) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise UserNotFound(f"No user {user_id}")
    return user


def _revoked(db: AsyncSession, users: UserDirectory | None, user: User) -> None:
    """Bump the token version: every token issued before is refused once this commits."""
    user.token_version += 1
    if users is not None:
        user_id = user.id

        async def announce() -> None:
            await users.changed(user_id)

        on_commit(db, announce)


async def set_password(
    db: AsyncSession,
    user: User,
    password_hash: str,
    actor: audit.Actor = audit.SYSTEM,
    users: UserDirectory | None = None,
) -> None:
    """A new password signs the user out everywhere."""
    user.password_hash = password_hash
    _revoked(db, users, user)
    await audit.record(db, actor=actor, action="user.password", entity="user", entity_id=user.id)


async def set_password_by_name(db: AsyncSession, username: str, password_hash: str) -> bool:
    user = await repository.by_username(db, username)
    if user is None:
        return False
    await set_password(db, user, password_hash)
    return True


async def update_user(
    db: AsyncSession,
    user_id: int,
    actor: audit.Actor,
    users: UserDirectory,
    *,
    role: Role | None = None,
    active: bool | None = None,
    profile: dict[str, str | None] | None = None,
) -> User:
    """Role change, (re-)enabling, profile fields (`profile`: only those sent);
    disabling or a new role signs the user out."""
    user = await _user(db, user_id)
    fields = ("role", "active", *PROFILE_FIELDS)
    old = {f: getattr(user, f) for f in fields}
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
    for name, value in (profile or {}).items():
        setattr(user, name, value.strip() if isinstance(value, str) else value)
    new = {f: getattr(user, f) for f in fields}
    if new == old:
        return user
    if new["role"] != old["role"] or not user.active:
        _revoked(db, users, user)
    old = {k: v for k, v in old.items() if new[k] != v or k in ("role", "active")}
    new = {k: new[k] for k in old}
    action = "user.disable" if old["active"] and not user.active else "user.update"
    await audit.record(
        db,
        actor=actor,
        action=action,
        entity="user",
        entity_id=user.id,
        detail={"old": old, "new": new},
    )
    return user


async def sign_out_everywhere(
    db: AsyncSession, user_id: int, actor: audit.Actor, users: UserDirectory
) -> User:
    user = await _user(db, user_id)
    _revoked(db, users, user)
    await audit.record(db, actor=actor, action="user.sign_out", entity="user", entity_id=user.id)
    return user


async def get_user(db: AsyncSession, user_id: int) -> User:
    return await _user(db, user_id)


async def list_users(db: AsyncSession) -> Sequence[User]:
    return await repository.list_all(db)
