"""HL7 acknowledgements (original mode): MSA|AA, or AE/AR with an ERR that says why;
ACK batches for batches."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from vitalwatch.hl7.parser import Message, Separators

APPLICATION = "VitalWatch"
_ids = itertools.count(1)

#: HL7 table 0357 codes used in ERR-3.
UNKNOWN_KEY = "204"  # unknown sender
INTERNAL = "207"  # no active session, and other application states
DATA_TYPE = "102"  # implausible value
SEGMENT = "100"  # not a readable message
UNSUPPORTED_TYPE = "200"
UNSUPPORTED_EVENT = "201"
UNSUPPORTED_VERSION = "203"
_ERROR_NAMES = {
    UNKNOWN_KEY: "Unknown key identifier",
    INTERNAL: "Application internal error",
    DATA_TYPE: "Data type error",
    SEGMENT: "Segment sequence error",
    UNSUPPORTED_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT: "Unsupported event code",
    UNSUPPORTED_VERSION: "Unsupported version id",
}


def _escape(text: str, s: Separators) -> str:
    """Text as a field value: separators written as HL7 escape sequences."""
    out = text.replace(s.escape, f"{s.escape}E{s.escape}")
    for char, code in (
        (s.field, "F"),
        (s.component, "S"),
        (s.repetition, "R"),
        (s.subcomponent, "T"),
    ):
        out = out.replace(char, f"{s.escape}{code}{s.escape}")
    return out.replace("\r", " ").replace("\n", " ")


def build(message: Message | None, code: str, text: str = "", error: str | None = None) -> bytes:
    """The ACK of `message` (None: a frame that was not readable HL7)."""
    s = message.separators if message is not None else Separators()
    f = s.field
    msh = message.msh if message is not None else []

    def get(n: int) -> str:
        return msh[n] if n < len(msh) else ""

    event = ""
    if message is not None:
        parts = get(9).split(s.repetition, 1)[0].split(s.component)
        event = parts[1] if len(parts) > 1 else ""
    version = (message.version if message is not None else "") or "2.6"
    now = _now()
    enc = f"{s.component}{s.repetition}{s.escape}{s.subcomponent}"
    segments = [
        f.join(
            [
                "MSH",
                enc,
                APPLICATION,
                "",
                get(3),
                get(4),
                now,
                "",
                s.component.join(["ACK", event, "ACK"]) if event else "ACK",
                f"VW{next(_ids)}",
                get(11) or "P",
                version,
            ]
        ),
        f.join(["MSA", code, _escape(message.control_id, s) if message else "", _escape(text, s)]),
    ]
    if error is not None:
        cwe = s.component.join([error, _ERROR_NAMES.get(error, ""), "HL70357"])
        segments.append(f.join(["ERR", "", "", cwe, "E", "", "", "", _escape(text, s)]))
    return ("\r".join(segments) + "\r").encode("utf-8")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S.%f")[:-3] + "+0000"


def _header(name: str, received: list[str] | None, s: Separators) -> str:
    """FHS/BHS of an ACK batch: to the sender of `received`, referring to its id."""
    got = received or []

    def get(n: int) -> str:
        return got[n] if n < len(got) else ""

    enc = f"{s.component}{s.repetition}{s.escape}{s.subcomponent}"
    fields = [name, enc, APPLICATION, "", get(3), get(4), _now(), "", "", ""]
    return s.field.join([*fields, f"VW{next(_ids)}", get(11)])


def batch(
    file_header: list[str] | None,
    groups: list[tuple[list[str] | None, list[bytes]]],
    s: Separators,
) -> bytes:
    """An ACK batch (HL7 v2.5 2.10.3): per received batch a BHS, one ACK per
    message in the order received, a BTS with their count; FHS/FTS around them
    when the sender sent a FHS."""
    out: list[bytes] = []
    if file_header is not None:
        out.append((_header("FHS", file_header, s) + "\r").encode("utf-8"))
    for header, acks in groups:
        out.append((_header("BHS", header, s) + "\r").encode("utf-8"))
        out += acks
        out.append(f"BTS{s.field}{len(acks)}\r".encode())
    if file_header is not None:
        out.append(f"FTS{s.field}{len(groups)}\r".encode())
    return b"".join(out)
