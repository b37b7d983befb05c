"""Queries on notification targets, the chain and the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from vitalwatch.alarms.models import Alarm
from vitalwatch.auth.models import User
from vitalwatch.notify.models import NotifyChainStep, NotifyOutbox, NotifyTarget
from vitalwatch.sessions.models import Session

_out = NotifyOutbox
_t = NotifyTarget

# -- targets and chain (admin) --------------------------------------------------------


async def targets(db: AsyncSession) -> Sequence[Row[NotifyTarget, str]]:
    stmt = select(_t, User.username).outerjoin(User, User.id == _t.user_id).order_by(_t.name, _t.id)
    return (await db.execute(stmt)).all()


async def target(db: AsyncSession, target_id: int) -> NotifyTarget | None:
    return await db.get(_t, target_id)


async def target_named(db: AsyncSession, name: str) -> NotifyTarget | None:
    return (await db.execute(select(_t).where(_t.name == name))).scalar_one_or_none()


async def username(db: AsyncSession, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = await db.get(User, user_id)
    return None if user is None else user.username


async def has_history(db: AsyncSession, target_id: int) -> bool:
    stmt = select(func.count()).select_from(_out).where(_out.target_id == target_id)
    return int((await db.execute(stmt)).scalar_one()) > 0


async def remove_from_chain(db: AsyncSession, target_id: int) -> None:
    await db.execute(delete(NotifyChainStep).where(NotifyChainStep.target_id == target_id))


async def chain(db: AsyncSession) -> Sequence[Row[NotifyChainStep, NotifyTarget]]:
    stmt = (
        select(NotifyChainStep, _t)
        .join(_t, _t.id == NotifyChainStep.target_id)
        .order_by(NotifyChainStep.position)
    )
    return (await db.execute(stmt)).all()


async def replace_chain(db: AsyncSession, steps: list[tuple[int, int]]) -> None:
    await db.execute(delete(NotifyChainStep))
    for position, (target_id, delay_s) in enumerate(steps, start=1):
        db.add(NotifyChainStep(position=position, target_id=target_id, delay_s=delay_s))
    await db.flush()


async def outbox(
    db: AsyncSession, alarm_id: int | None, state: str | None, limit: int
) -> Sequence[Row[NotifyOutbox, str]]:
    stmt = (
        select(_out, _t.name)
        .join(_t, _t.id == _out.target_id)
        .order_by(_out.id.desc())
        .limit(limit)
    )
    if alarm_id is not None:
        stmt = stmt.where(_out.alarm_id == alarm_id)
    if state is not None:
        stmt = stmt.where(_out.state == state)
    return (await db.execute(stmt)).all()


# -- the port: inside the alarm transition's transaction ------------------------------


async def enabled_chain(conn: AsyncConnection) -> list[tuple[int, int, int]]:
    """(position, target id, delay) of the chain's steps whose target is enabled."""
    stmt = (
        select(NotifyChainStep.position, NotifyChainStep.target_id, NotifyChainStep.delay_s)
        .join(_t, _t.id == NotifyChainStep.target_id)
        .where(_t.enabled.is_(True))
        .order_by(NotifyChainStep.position)
    )
    return [(int(p), int(t), int(d)) for p, t, d in (await conn.execute(stmt)).all()]


async def has_pending(conn: AsyncConnection, alarm_id: int) -> bool:
    stmt = select(_out.id).where(_out.alarm_id == alarm_id, _out.state == "pending").limit(1)
    return (await conn.execute(stmt)).first() is not None


async def add_rows(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(_out), rows)


async def cancel_pending(conn: AsyncConnection, alarm_id: int, reason: str) -> int:
    result = await conn.execute(
        update(_out)
        .where(_out.alarm_id == alarm_id, _out.state == "pending")
        .values(state="cancelled", last_error=reason, claimed_at=None)
    )
    return int(result.rowcount)


# -- the sender -----------------------------------------------------------------------


def _mine(index: int, count: int) -> Any:
    return (_out.session_id % count) == index


async def release_claims(conn: AsyncConnection, index: int, count: int) -> int:
    """Rows an earlier owner (or this process before a crash) was sending: due again."""
    result = await conn.execute(
        update(_out)
        .where(_out.state == "pending", _out.claimed_at.is_not(None), _mine(index, count))
        .values(claimed_at=None)
    )
    return int(result.rowcount)


async def claim_due(
    conn: AsyncConnection, index: int, count: int, now: datetime, limit: int
) -> list[tuple[int, str]]:
    """Mark due rows of this partition as being sent; (id, alarm state) of each."""
    stmt = (
        select(_out.id, Alarm.state)
        .join(Alarm, Alarm.id == _out.alarm_id)
        .where(
            _out.state == "pending",
            _out.due_at <= now,
            _out.claimed_at.is_(None),
            _mine(index, count),
        )
        .order_by(_out.due_at, _out.id)
        .limit(limit)
    )
    rows = [(int(i), str(s)) for i, s in (await conn.execute(stmt)).all()]
    if rows:
        await conn.execute(
            update(_out)
            .where(_out.id.in_([i for i, _ in rows]))
            .values(claimed_at=now, attempts=_out.attempts + 1)
        )
    return rows


async def delivery(
    db: AsyncSession, outbox_id: int
) -> Row[NotifyOutbox, NotifyTarget, Alarm, str | None, str, bool] | None:
    """A claimed row with all a notification needs: target, alarm, room, user."""
    stmt = (
        select(_out, _t, Alarm, Session.room, User.username, User.active)
        .join(_t, _t.id == _out.target_id)
        .join(Alarm, Alarm.id == _out.alarm_id)
        .outerjoin(Session, Session.id == _out.session_id)  # none: the station's own
        .outerjoin(User, User.id == _t.user_id)
        .where(_out.id == outbox_id)
    )
    return (await db.execute(stmt)).first()


async def finish(conn: AsyncConnection, outbox_id: int, values: dict[str, Any]) -> None:
    await conn.execute(
        update(_out)
        .where(_out.id == outbox_id, _out.state == "pending")
        .values(claimed_at=None, **values)
    )


# -- acknowledge links ----------------------------------------------------------------


async def link_row(db: AsyncSession, outbox_id: int) -> Row[NotifyOutbox, Alarm, str | None] | None:
    stmt = (
        select(_out, Alarm, Session.room)
        .join(Alarm, Alarm.id == _out.alarm_id)
        .outerjoin(Session, Session.id == _out.session_id)  # none: the station's own
        .where(_out.id == outbox_id)
    )
    return (await db.execute(stmt)).first()


async def use_link(db: AsyncSession, outbox_id: int, now: datetime) -> bool:
    """Take the link's single use; False when it was used already."""
    result = await db.execute(
        update(_out)
        .where(_out.id == outbox_id, _out.link_used_at.is_(None))
        .values(link_used_at=now)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def give_back_link(db: AsyncSession, outbox_id: int) -> None:
    await db.execute(update(_out).where(_out.id == outbox_id).values(link_used_at=None))


async def any_due(conn: AsyncConnection, index: int, count: int, now: datetime) -> bool:
    """A read-only look before the fenced claim (most polls find nothing)."""
    stmt = (
        select(_out.id)
        .where(
            _out.state == "pending",
            _out.due_at <= now,
            _out.claimed_at.is_(None),
            _mine(index, count),
        )
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None
