"""Queries on staff accounts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitalwatch.auth.models import User


async def by_username(db: AsyncSession, username: str) -> User | None:
    return (await db.execute(select(User).where(User.username == username))).scalar_one_or_none()


async def add(db: AsyncSession, user: User) -> User:
    db.add(user)
    await db.flush()
    return user


async def username_of(db: AsyncSession, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return (await db.execute(select(User.username).where(User.id == user_id))).scalar_one_or_none()


async def users_named(
    db: AsyncSession, *, names: Iterable[str | None] = (), ids: Iterable[int | None] = ()
) -> Sequence[User]:
    """The users among these user names and ids (a record names who did what)."""
    wanted_names = sorted({n for n in names if n})
    wanted_ids = sorted({i for i in ids if i is not None})
    if not wanted_names and not wanted_ids:
        return []
    stmt = select(User).where(or_(User.username.in_(wanted_names), User.id.in_(wanted_ids)))
    return (await db.execute(stmt)).scalars().all()


async def list_all(db: AsyncSession) -> Sequence[User]:
    return (await db.execute(select(User).order_by(User.username))).scalars().all()
