"""/api/v1/auth: staff sign-in (OAuth2 password flow), own password and
"sign out everywhere"; /api/v1/users: account administration (admin)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request, status

from vitalwatch.auth import repository, service
from vitalwatch.auth.deps import Admin, Staff, actor_of
from vitalwatch.auth.models import User
from vitalwatch.auth.schemas import (
    PasswordChange,
    PasswordReset,
    TokenResponse,
    UserAdminOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from vitalwatch.auth.security import HashingBusy
from vitalwatch.context import AppContext, Ctx
from vitalwatch.db import DbSession
from vitalwatch.errors import Conflict, Forbidden
from vitalwatch.ids import PathId

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/v1/users", tags=["users"])

_FAILED = "Incorrect username or password"
#: Throttled and "busy" sign-ins are answered after this pause (at most): a
#: guessing client that ignores Retry-After then costs the service a sleeping
#: coroutine per second, not a flood of instant answers that eats the CPU the
#: alarms need.
TARPIT_S = 1.0


async def _tarpit(seconds: float) -> None:
    await asyncio.sleep(min(TARPIT_S, seconds))


def _parts(ctx: AppContext) -> service.LoginParts:
    return service.LoginParts(ctx.sessionmaker, ctx.settings, ctx.hashing, ctx.throttle, ctx.audit)


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={
        401: {"description": _FAILED},
        429: {"description": "Too many failed sign-ins: wait Retry-After seconds"},
        503: {"description": "Too many sign-ins at once: retry"},
    },
)
async def token(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
) -> TokenResponse:
    """Sign in. Holds no database connection while the password is checked."""
    address = request.client.host if request.client else "unknown"
    try:
        return await service.login(_parts(ctx), username, password, address)
    except service.LoginThrottled as exc:
        await _tarpit(exc.retry_after)  # then answered as it is
        raise
    except HashingBusy:
        await _tarpit(TARPIT_S)
        raise


@router.get("/me", response_model=UserOut)
async def me(claims: Staff) -> UserOut:
    return UserOut(id=claims.user_id, username=claims.username, role=claims.role)  # type: ignore[arg-type]


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(body: PasswordChange, db: DbSession, ctx: Ctx, claims: Staff) -> None:
    """Change your own password: every sign-in of yours ends, this one too."""
    user = await service.get_user(db, claims.user_id)
    await db.commit()  # the connection goes back to the pool while argon2 runs
    if not await ctx.hashing.verify(user.password_hash, body.current_password):
        raise Forbidden("The current password is wrong")
    service.check_new_password(ctx.settings, user.username, body.new_password)
    new_hash = await ctx.hashing.hash(body.new_password)
    await service.set_password(db, user, new_hash, actor_of(claims), ctx.users)


@router.post("/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out_everywhere(db: DbSession, ctx: Ctx, claims: Staff) -> None:
    """End every sign-in of yours (tokens refused, live sockets closed with 4403)."""
    await service.sign_out_everywhere(db, claims.user_id, actor_of(claims), ctx.users)


# --- administration -----------------------------------------------------------------


def _out(user: User) -> UserAdminOut:
    return UserAdminOut.model_validate(user)


async def _found(db: DbSession, user_id: int) -> User:
    return await service.get_user(db, user_id)


@users_router.get("", response_model=list[UserAdminOut])
async def list_users(db: DbSession, claims: Admin) -> list[UserAdminOut]:
    return [_out(u) for u in await service.list_users(db)]


@users_router.post("", status_code=status.HTTP_201_CREATED, response_model=UserAdminOut)
async def create_user(body: UserCreate, db: DbSession, ctx: Ctx, claims: Admin) -> UserAdminOut:
    """Create a staff account; the password must meet the policy."""
    service.check_new_password(ctx.settings, body.username, body.password)
    if await repository.by_username(db, body.username) is not None:
        raise service.UserExistsError(body.username)
    await db.commit()  # no connection held while argon2 runs
    password_hash = await ctx.hashing.hash(body.password)
    user = await service.create_user(db, body.username, body.role, password_hash, actor_of(claims))
    return _out(user)


@users_router.patch("/{user_id}", response_model=UserAdminOut)
async def update_user(
    user_id: PathId, body: UserUpdate, db: DbSession, ctx: Ctx, claims: Admin
) -> UserAdminOut:
    """Change role, disable / enable, or the staff profile (full name, credentials,
    phone, email); disabling or a new role signs the user out."""
    await _found(db, user_id)
    if user_id == claims.user_id and (body.active is False or body.role == "nurse"):
        raise Conflict("You cannot disable yourself or take away your own admin role")
    user = await service.update_user(
        db,
        user_id,
        actor_of(claims),
        ctx.users,
        role=body.role,
        active=body.active,
        profile=body.model_dump(include=set(service.PROFILE_FIELDS), exclude_unset=True),
    )
    return _out(user)


@users_router.post("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(
    user_id: PathId, body: PasswordReset, db: DbSession, ctx: Ctx, claims: Admin
) -> None:
    """Set a new password for a user (who is signed out everywhere)."""
    user = await _found(db, user_id)
    await db.commit()  # no connection held while argon2 runs
    service.check_new_password(ctx.settings, user.username, body.password)
    password_hash = await ctx.hashing.hash(body.password)
    await service.set_password(db, user, password_hash, actor_of(claims), ctx.users)


@users_router.post("/{user_id}/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out_user(user_id: PathId, db: DbSession, ctx: Ctx, claims: Admin) -> None:
    """End every sign-in of this user."""
    await _found(db, user_id)
    await service.sign_out_everywhere(db, user_id, actor_of(claims), ctx.users)
