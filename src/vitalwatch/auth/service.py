"""Staff login and account creation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.audit import service as audit
from vitalwatch.auth import repository
from vitalwatch.auth.models import User
from vitalwatch.auth.schemas import Role, TokenResponse
from vitalwatch.auth.security import create_access_token, hash_password, verify_password
from vitalwatch.config import Settings
from vitalwatch.logging import get_logger

log = get_logger(__name__)


class UserExistsError(Exception):
    pass


async def login(
    db: AsyncSession, settings: Settings, username: str, password: str
) -> TokenResponse | None:
    user = await repository.by_username(db, username)
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        log.info("login_failed")
        return None
    token = create_access_token(
        settings.secret_key, user.id, user.username, user.role, settings.token_ttl_s
    )
    log.info("login", user_id=user.id)
    role: Role = "admin" if user.role == "admin" else "nurse"
    return TokenResponse(access_token=token, role=role, expires_in=settings.token_ttl_s)


async def create_user(db: AsyncSession, username: str, role: Role, password: str) -> User:
    if await repository.by_username(db, username) is not None:
        raise UserExistsError(username)
    user = await repository.add(
        db, User(username=username, role=role, password_hash=hash_password(password))
    )
    await audit.record(
        db,
        actor=audit.SYSTEM,
        action="user.create",
        entity="user",
        entity_id=user.id,
        detail={"username": username, "role": role},
    )
    return user


async def set_password(db: AsyncSession, username: str, password: str) -> bool:
    user = await repository.by_username(db, username)
    if user is None:
        return False
    user.password_hash = hash_password(password)
    await audit.record(
        db, actor=audit.SYSTEM, action="user.password", entity="user", entity_id=user.id
    )
    return True
