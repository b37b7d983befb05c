"""Admin configuration of secondary notification, test sends and acknowledge links."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch import errors
from vitalwatch.alarms.models import Alarm
from vitalwatch.alarms.schemas import AlarmOut
from vitalwatch.audit import service as audit
from vitalwatch.auth import repository as users
from vitalwatch.auth.models import User
from vitalwatch.config import Settings
from vitalwatch.db import unit_of_work
from vitalwatch.logging import get_logger
from vitalwatch.notify import links, repository
from vitalwatch.notify.channels import DeliveryFailed, Destination, deliver
from vitalwatch.notify.messages import test_notice
from vitalwatch.notify.models import NotifyOutbox, NotifyTarget
from vitalwatch.notify.outbox import new_key
from vitalwatch.notify.schemas import (
    ChainIn,
    ChainStepOut,
    LinkAlarm,
    LinkDone,
    LinkPreview,
    OutboxOut,
    TargetCreated,
    TargetIn,
    TargetOut,
    TargetPatch,
    TestOut,
)
from vitalwatch.notify.sender import http_client

log = get_logger(__name__)

#: Acknowledges an alarm as a user where its session is evaluated (the cluster).
Acknowledge = Callable[[int, audit.Actor], Awaitable[AlarmOut]]


class TargetNotFound(errors.NotFound):
    pass


class Conflict(errors.Conflict):
    """A change that contradicts what is stored (name taken, target in use)."""


class UnknownUser(errors.Refused):
    pass


class LinkUsed(errors.Gone):
    """The acknowledge link's single use is spent."""


def _out(target: NotifyTarget, username: str | None) -> dict[str, Any]:
    return {
        "id": target.id,
        "name": target.name,
        "kind": target.kind,
        "address": target.address,
        "user": username,
        "enabled": target.enabled,
        "has_secret": target.secret is not None,
        "created_at": target.created_at,
        "updated_at": target.updated_at,
    }


async def _user_id(db: AsyncSession, username: str | None) -> int | None:
    if not username:
        return None
    user = await users.by_username(db, username)
    if user is None or not user.active:
        raise UnknownUser(f"No active staff user named {username!r}")
    return user.id


async def list_targets(db: AsyncSession) -> list[TargetOut]:
    return [TargetOut(**_out(t, name)) for t, name in await repository.targets(db)]


async def create_target(db: AsyncSession, body: TargetIn, actor: audit.Actor) -> TargetCreated:
    if await repository.target_named(db, body.name) is not None:
        raise Conflict(f"A target named {body.name!r} exists already")
    secret = body.secret
    if body.kind == "webhook" and secret is None:
        secret = secrets.token_urlsafe(32)
    target = NotifyTarget(
        name=body.name,
        kind=body.kind,
        address=body.address,
        secret=secret,
        user_id=await _user_id(db, body.user),
        enabled=body.enabled,
    )
    db.add(target)
    await db.flush()
    await audit.record(
        db, actor=actor, action="notify.target.create", entity="notify_target", entity_id=target.id
    )
    return TargetCreated(**_out(target, body.user), secret=secret)


async def _target(db: AsyncSession, target_id: int) -> NotifyTarget:
    target = await repository.target(db, target_id)
    if target is None:
        raise TargetNotFound(f"Notification target {target_id} not found")
    return target


async def update_target(
    db: AsyncSession, target_id: int, patch: TargetPatch, actor: audit.Actor
) -> TargetCreated:
    """Apply a patch, checked as a whole (the merged target's errors are a 422)."""
    target = await _target(db, target_id)
    given = patch.model_dump(exclude_unset=True)
    kind = given.get("kind", target.kind)
    secret = given.get("secret", target.secret if kind == target.kind else None)
    user = (
        (given["user"] or None)
        if "user" in given
        else await repository.username(db, target.user_id)
    )
    try:
        merged = TargetIn(
            name=given.get("name", target.name),
            kind=kind,
            address=given.get("address", target.address),
            secret=secret,
            user=user,
            enabled=given.get("enabled", target.enabled),
        )
    except ValidationError as exc:
        raise errors.Invalid([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    if merged.name != target.name and await repository.target_named(db, merged.name):
        raise Conflict(f"A target named {merged.name!r} exists already")
    fresh = None
    if merged.kind == "webhook" and merged.secret is None:
        fresh = merged.secret = secrets.token_urlsafe(32)
    target.name, target.kind, target.address = merged.name, merged.kind, merged.address
    target.secret, target.enabled = merged.secret, merged.enabled
    target.user_id = await _user_id(db, merged.user)
    target.updated_at = datetime.now(UTC)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="notify.target.update",
        entity="notify_target",
        entity_id=target.id,
        detail={"fields": sorted(given)},
    )
    return TargetCreated(**_out(target, merged.user or None), secret=fresh or given.get("secret"))


async def delete_target(db: AsyncSession, target_id: int, actor: audit.Actor) -> None:
    target = await _target(db, target_id)
    if await repository.has_history(db, target_id):
        raise Conflict(
            f"Target {target_id} has sent notifications (kept in the alarm record); "
            "disable it instead"
        )
    await repository.remove_from_chain(db, target_id)
    await db.delete(target)
    await audit.record(
        db, actor=actor, action="notify.target.delete", entity="notify_target", entity_id=target_id
    )


async def get_chain(db: AsyncSession) -> list[ChainStepOut]:
    return [
        ChainStepOut(
            position=step.position,
            target_id=target.id,
            target_name=target.name,
            target_enabled=target.enabled,
            delay_s=step.delay_s,
        )
        for step, target in await repository.chain(db)
    ]


async def set_chain(db: AsyncSession, body: ChainIn, actor: audit.Actor) -> list[ChainStepOut]:
    for step in body.steps:
        if await repository.target(db, step.target_id) is None:
            raise TargetNotFound(f"Notification target {step.target_id} not found")
    await repository.replace_chain(db, [(s.target_id, s.delay_s) for s in body.steps])
    await audit.record(
        db,
        actor=actor,
        action="notify.chain.set",
        entity="notify_chain",
        entity_id=None,
        detail={"steps": [s.model_dump() for s in body.steps]},
    )
    return await get_chain(db)


async def list_outbox(
    db: AsyncSession, alarm_id: int | None, state: str | None, limit: int
) -> list[OutboxOut]:
    return [
        OutboxOut(
            id=o.id,
            alarm_id=o.alarm_id,
            session_id=o.session_id,
            target_id=o.target_id,
            target_name=name,
            step=o.step,
            reason=o.reason,
            key=o.key,
            state=o.state,  # type: ignore[arg-type]
            due_at=o.due_at,
            attempts=o.attempts,
            last_error=o.last_error,
            created_at=o.created_at,
            sent_at=o.sent_at,
            link_used_at=o.link_used_at,
        )
        for o, name in await repository.outbox(db, alarm_id, state, limit)
    ]


async def send_test(
    db: AsyncSession, settings: Settings, target_id: int, actor: audit.Actor
) -> TestOut:
    """Send a test notification now (not through the outbox); the admin sees the outcome."""
    target = await _target(db, target_id)
    key = f"test-{new_key()}"
    notice = test_notice(
        key=key, target=target.name, by=actor.name or "admin", station_url=settings.public_url + "/"
    )
    dest = Destination(target.id, target.name, target.kind, target.address, target.secret)
    async with http_client() as http:
        try:
            outcome, ok = await deliver(dest, notice, settings, http), True
        except DeliveryFailed as exc:
            outcome, ok = str(exc), False
    await audit.record(
        db,
        actor=actor,
        action="notify.target.test",
        entity="notify_target",
        entity_id=target.id,
        detail={"ok": ok, "outcome": outcome, "key": key},
    )
    log.info("notify_test", target_id=target.id, ok=ok, outcome=outcome)
    return TestOut(ok=ok, outcome=outcome, key=key)


# -- acknowledge links ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Link:
    outbox: NotifyOutbox
    alarm: Alarm
    room: str | None
    user: User
    expires_at: int


async def _link(db: AsyncSession, settings: Settings, token: str) -> _Link:
    """What a link names; LinkInvalid / LinkExpired / UnknownUser raised."""
    claims = links.verify(settings.secret_key, token, time.time())
    row = await repository.link_row(db, claims.outbox_id)
    if row is None or row[1].id != claims.alarm_id:
        raise links.LinkInvalid("This acknowledge link is not valid (damaged or altered)")
    user = await db.get(User, claims.user_id)
    if user is None or not user.active:
        raise UnknownUser("The staff user of this link is no longer active")
    return _Link(row[0], row[1], row[2], user, claims.expires_at)


async def preview_link(db: AsyncSession, settings: Settings, token: str) -> LinkPreview:
    link = await _link(db, settings, token)
    alarm = link.alarm
    return LinkPreview(
        alarm=LinkAlarm(
            id=alarm.id,
            session_id=alarm.session_id,
            room=link.room,
            priority=alarm.priority,  # type: ignore[arg-type]
            message=alarm.message,
            state=alarm.state,
            raised_at=alarm.raised_at,
            acked_at=alarm.acked_at,
            acked_by=alarm.acked_by,
        ),
        acknowledge_as=link.user.username,
        expires_at=datetime.fromtimestamp(link.expires_at, UTC),
        used=link.outbox.link_used_at is not None,
    )


async def use_link(
    maker: async_sessionmaker[AsyncSession], settings: Settings, token: str, ack: Acknowledge
) -> LinkDone:
    """Acknowledge through the same path as POST /alarms/{id}/ack, as the link's user.

    The single use is taken first (committed), so two taps cannot both act;
    it is given back when the acknowledgement could not be done for a passing
    reason (503: the partition is changing hands), so the nurse can tap again.
    """
    async with unit_of_work(maker) as db:
        link = await _link(db, settings, token)
        out, alarm, user = link.outbox, link.alarm, link.user
        if not await repository.use_link(db, out.id, datetime.now(UTC)):
            raise LinkUsed("This acknowledge link has been used already")
    before = alarm.state
    actor = audit.Actor("user", user.id, user.username)
    try:
        result = await ack(alarm.id, actor)
    except errors.Unavailable:
        await _give_back(maker, out.id)
        raise
    except errors.DomainError:  # not found, already resolved: the link stays used
        raise
    except Exception:
        await _give_back(maker, out.id)
        raise
    async with unit_of_work(maker) as db:
        await audit.record(
            db,
            actor=actor,
            action="notify.ack_link",
            entity="alarm",
            entity_id=alarm.id,
            detail={"outbox_id": out.id},
        )
    log.info("notify_ack_link_used", alarm_id=alarm.id, outbox_id=out.id, user_id=user.id)
    return LinkDone(
        alarm=result,
        acknowledged_as=user.username,
        already_acknowledged=before != "active",
    )


async def _give_back(maker: async_sessionmaker[AsyncSession], outbox_id: int) -> None:
    async with unit_of_work(maker) as db:
        await repository.give_back_link(db, outbox_id)
