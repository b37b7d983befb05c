"""HL7 batches (v2.5 2.10.3): FHS/BHS ... MSH ... BTS/FTS in one frame.

A batch holds independent messages, each with its own MSH: a gateway sends
several beds in one. Each is read, identified, stored (or refused) and
acknowledged on its own; the answer is an ACK batch (BHS, one ACK per
message, BTS) in one frame, inside FHS/FTS when the sender used them.
A frame with several MSH and no batch header is read the same way: its
messages must never be read as one (one bed's values in another's session).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, cast

from vitalwatch.hl7 import ack
from vitalwatch.hl7.extract import takes_back
from vitalwatch.hl7.listener import settled
from vitalwatch.hl7.parser import Message, Separators

_HEADERS = ("FHS", "BHS", "BTS", "FTS")


@dataclass(slots=True)
class Group:
    """One BHS ... BTS (header None: messages outside any BHS)."""

    header: list[str] | None
    messages: list[str] = field(default_factory=list)  # each message's text, from its MSH


@dataclass(slots=True)
class Batch:
    file_header: list[str] | None  # FHS fields by number (None: no FHS)
    groups: list[Group]

    @property
    def count(self) -> int:
        return sum(len(g.messages) for g in self.groups)


def _segment(line: str) -> str:
    """The segment's name when it is a header or an MSH (a separator follows it)."""
    name = line[:3]
    if len(line) > 3 and not line[3].isalnum() and not line[3].isspace():
        return name
    return ""


def header_fields(line: str) -> list[str]:
    """A header segment by field number (fields[n] is FHS-n / BHS-n, as MSH)."""
    fs = line[3]
    return [line[:3], fs, *line[4:].split(fs)]


def split(text: str) -> Batch | None:
    """The frame's messages (`text`: as `parser.decode` leaves it) when it is a
    batch (a FHS or BHS, or more than one MSH); None when it is one message
    (read as it always was)."""
    if "HS" not in text and text.count("MSH") < 2:
        return None  # the common case, without splitting the lines
    lines = text.split("\r")
    names = [_segment(line) for line in lines]
    if "FHS" not in names and "BHS" not in names and names.count("MSH") < 2:
        return None
    out = Batch(file_header=None, groups=[])
    reading = False  # inside a message (after its MSH)

    def group() -> Group:
        if not out.groups:
            out.groups.append(Group(None))
        return out.groups[-1]

    for line, name in zip(lines, names, strict=True):
        if name == "FHS" and out.file_header is None:
            out.file_header, reading = header_fields(line), False
        elif name == "BHS":
            out.groups.append(Group(header_fields(line)))
            reading = False
        elif name in ("BTS", "FTS", "FHS"):
            reading = False
        elif name == "MSH":
            group().messages.append(line)
            reading = True
        elif reading:
            group().messages[-1] += "\r" + line
        # lines outside any message (none but headers belong there) are not read
    return out


Handle = Callable[[Message], Coroutine[Any, Any, bytes | None]]
_AckGroups = list[tuple[list[str] | None, list[bytes]]]


async def answer(
    file_header: list[str] | None,
    groups: list[tuple[list[str] | None, list[Message | bytes]]],
    handle: Handle,
    seps: Separators,
) -> bytes | None:
    """Every message handled (`bytes`: the AR of one that was not readable), as
    the listener runs a connection's: ORU^R40 in order, one that takes values
    back after all before it, the rest at once; the ACK batch, or None when one
    got no ACK (not stored: the sender resends the whole batch)."""
    previous: list[asyncio.Future[bytes | None]] = []
    tasks: list[asyncio.Future[bytes | None]] = []
    for m in (m for _, ms in groups for m in ms):
        if isinstance(m, bytes):
            tasks.append(asyncio.ensure_future(_done(m)))
        elif takes_back(m):
            tasks.append(asyncio.ensure_future(_after(list(tasks), handle(m))))
            previous = tasks[-1:]
        elif m.message_type == "ORU^R40":
            tasks.append(asyncio.ensure_future(_after(previous, handle(m))))
            previous = tasks[-1:]
        else:
            tasks.append(asyncio.ensure_future(handle(m)))
    replies = iter(await asyncio.gather(*tasks))
    acks = [(header, [next(replies) for _ in ms]) for header, ms in groups]
    if any(a is None for _, rs in acks for a in rs):
        return None
    return ack.batch(file_header, cast(_AckGroups, acks), seps)


async def _done(reply: bytes) -> bytes:
    return reply


async def _after(
    previous: list[asyncio.Future[bytes | None]], run: Coroutine[Any, Any, bytes | None]
) -> bytes | None:
    await settled(previous)
    return await run
