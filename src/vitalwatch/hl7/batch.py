"""HL7 batches (v2.5 2.10.3): FHS/BHS ... MSH ... BTS/FTS in one frame.

A batch holds independent messages, each with its own MSH: a gateway sends
several beds in one. Each is read, identified, stored (or refused) and
acknowledged on its own; the answer is an ACK batch (BHS, one ACK per
message, BTS) in one frame, inside FHS/FTS when the sender used them.
A frame with several MSH and no batch header is read the same way: its
messages must never be read as one (one bed's values in another's session).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vitalwatch.hl7.parser import decode

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


def split(data: bytes) -> Batch | None:
    """The frame's messages when it is a batch (a FHS or BHS, or more than one
    MSH); None when it is one message (read as it always was)."""
    lines = decode(data).split("\r")
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
