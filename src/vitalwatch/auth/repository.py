"""Queries on staff accounts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
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


async def list_all(db: AsyncSession) -> Sequence[User]:
    return (await db.execute(select(User).order_by(User.username))).scalars().all()
