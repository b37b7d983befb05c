"""An HL7 v2 message as VitalWatch reads it: who sent it, what was measured when,
and, for ORU^R40, which alarm the monitor reports.

Segments and fields are split here with the message's own separators (a
plain split: python-hl7's full parse builds a container per component and
cost 1.3 ms a message, most of the MLLP budget); python-hl7 decodes the
escape sequences. Components are read from the field text, so a stray
repetition or subcomponent never moves a value. Nothing here raises on a
malformed field: a field that is not there reads as "". Real senders are
taken as they are (strict parsers refuse most of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import hl7

_HEX_ID = re.compile(r"[0-9A-Fa-f]{16}|[0-9A-Fa-f]{12}")
_PLACEHOLDER = {"", '""'}
_OBX_FIELDS = 19  # OBX-0 (the name) .. OBX-18 (equipment instance identifier)


class NotHL7(ValueError):
    """The bytes are not an HL7 v2 message (no readable MSH segment)."""


def decode(data: bytes) -> str:
    """UTF-8 when it is UTF-8, else latin-1 (which takes any byte): MSH-18 is not
    trusted, a Philips stream declares 8859/1 and carries UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # Segment ends: CR, LF or CRLF; blank lines dropped.
    lines = re.split(r"\r\n|\r|\n", text)
    return "\r".join(line for line in lines if line.strip())


@dataclass(frozen=True, slots=True)
class Separators:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


@dataclass(slots=True)
class Obx:
    """One OBX row, with the time that applies to it (OBX-14, an ancestor's
    OBX-14 in the OBX-4 hierarchy, the OBR-7 of its group, else MSH-7)."""

    position: int  # 1-based among the message's OBX segments (OBX-1 is often empty)
    value_type: str
    ident: str
    text: str
    system: str
    sub_id: str
    value: str  # the raw OBX-5 text
    value_parts: list[str]  # OBX-5 components (CWE: code ^ text ^ system ...)
    unit_ident: str
    unit_text: str
    ranges: str
    abnormal: list[str]
    time: str  # the DTM text that applies ("" when none anywhere)
    equipment: list[str]
    group: int  # which OBR (0: before any)
    status: str = ""  # OBX-11 (HL7 table 0085), uppercased


@dataclass(slots=True)
class Message:
    separators: Separators
    msh: list[str]  # MSH fields by number (msh[9] = MSH-9)
    message_type: str  # "ORU^R01"
    version: str
    control_id: str
    sent: str  # MSH-7
    patient_id: str | None
    identifiers: list[tuple[str, str]]  # (kind, value), most specific first
    obx: list[Obx] = field(default_factory=list)
    obr_codes: list[str] = field(default_factory=list)  # OBR-4 identifier per group


def _get(fields: list[str], n: int) -> str:
    return fields[n] if 0 <= n < len(fields) else ""


class Reader:
    """Splits field text with one message's separators.

    Memoised per message: the rows of a monitor's message repeat the same
    times, units and equipment ids, and the MLLP path parses thousands a second.
    """

    __slots__ = ("_comps", "_ids", "_message", "_special", "seps")

    def __init__(self, seps: Separators) -> None:
        self._message: hl7.Message | None = None  # made on the first escape sequence
        self.seps = seps
        self._comps: dict[str, list[str]] = {}
        self._ids: dict[tuple[str, bool], list[str]] = {}
        self._special = (seps.repetition, seps.subcomponent, seps.escape)

    def unescape(self, text: str) -> str:
        if self.seps.escape not in text:
            return text
        if self._message is None:
            seps = self.seps
            self._message = hl7.Message(
                separators=f"\r{seps.field}{seps.repetition}{seps.component}{seps.subcomponent}",
                esc=seps.escape,
            )
        try:
            return str(self._message.unescape(text))
        except Exception:  # a broken escape sequence stays as sent
            return text

    def reps(self, text: str) -> list[str]:
        return text.split(self.seps.repetition) if text else []

    def comps(self, text: str) -> list[str]:
        """The first repetition's components, unescaped, first subcomponent each
        (a shared list: callers copy before changing it)."""
        hit = self._comps.get(text)
        if hit is not None:
            return hit
        rep, sub, esc = self._special
        if not text:
            out = [""]
        elif rep in text or sub in text or esc in text:
            first = text.split(rep, 1)[0]
            out = [self.unescape(c.split(sub, 1)[0]) for c in first.split(self.seps.component)]
        else:
            out = text.split(self.seps.component)
        self._comps[text] = out
        return out

    def comp(self, text: str, n: int) -> str:
        parts = self.comps(text)
        return parts[n - 1].strip() if 0 < n <= len(parts) else ""

    def hex_ids(self, text: str, only16: bool = False) -> list[str]:
        """Hardware identifiers among a field's components: EUI-64 (16 hex digits)
        or, in OBX-18 only, MAC-48 (12), uppercased (a shared list)."""
        key = (text, only16)
        hit = self._ids.get(key)
        if hit is None:
            hit = []
            for part in self.comps(text):
                part = part.strip()
                if _HEX_ID.fullmatch(part) and (len(part) == 16 or not only16):
                    hit.append(part.upper())
            self._ids[key] = hit
        return hit


def parse(data: bytes) -> Message:
    """The message in `data` (one MLLP frame's payload); NotHL7 when it has no MSH."""
    return parse_text(decode(data))


def parse_text(text: str) -> Message:
    """The message in `text` (segments ended by CR, as `decode` leaves them)."""
    start = text.find("MSH")
    if start < 0 or len(text) < start + 8:
        raise NotHL7("no MSH segment: not an HL7 v2 message")
    text = text[start:]
    fs = text[3]
    if fs.isalnum() or fs in " \r":
        raise NotHL7("MSH is not followed by a field separator")
    enc = text[4:].split(fs, 1)[0][:4]
    if (
        len(enc) < 2
        or len(set(enc + fs)) != len(enc) + 1
        or any(c.isalnum() or c.isspace() for c in enc)
    ):
        raise NotHL7("MSH-2 (encoding characters) is missing or not usable")
    seps = Separators(
        field=fs,
        component=enc[0],
        repetition=enc[1],
        escape=enc[2] if len(enc) > 2 else "\\",
        subcomponent=enc[3] if len(enc) > 3 else "&",
    )
    r = Reader(seps)
    segments = [line.split(fs) for line in text.split("\r")]
    msh = ["MSH", fs, *segments[0][1:]]  # msh[n] is MSH-n (MSH-1 is the separator)
    msg_type = "^".join(p for p in r.comps(_get(msh, 9))[:2])
    out = Message(
        separators=seps,
        msh=msh,
        message_type=msg_type,
        version=r.comp(_get(msh, 12), 1),
        control_id=r.unescape(_get(msh, 10)).strip(),
        sent=r.comp(_get(msh, 7), 1),
        patient_id=None,
        identifiers=[],
    )
    _read_body(r, segments[1:], out)
    return out


def _read_body(r: Reader, segments: list[list[str]], out: Message) -> None:
    euis_obx: list[str] = []
    hw_obx: list[str] = []
    euis_obr: list[str] = []
    bed = ""
    group = 0
    group_time = {0: ""}
    for f in segments:
        name = f[0].strip()
        if name == "PID" and out.patient_id is None:
            pid = r.comp(_get(f, 3), 1)
            out.patient_id = None if pid in _PLACEHOLDER else pid
        elif name == "PV1":
            parts = [p.strip() for p in r.comps(_get(f, 3))[:4]]
            while parts and parts[-1] in _PLACEHOLDER:
                parts.pop()
            bed = "^".join(parts)
        elif name == "OBR":
            group += 1
            group_time[group] = r.comp(_get(f, 7), 1)
            out.obr_codes.append(r.comp(_get(f, 4), 1))
            for n in (2, 3):
                euis_obr += r.hex_ids(_get(f, n), only16=True)
        elif name == "OBX":
            row = _obx(r, f, len(out.obx) + 1, group)
            for ident in row.equipment:
                (euis_obx if len(ident) == 16 else hw_obx).append(ident)
            out.obx.append(row)
    _inherit_times(out.obx, group_time, out.sent)
    msh = out.msh
    app = r.comp(_get(msh, 3), 1)
    facility = r.comp(_get(msh, 4), 1)
    msh_eui = r.hex_ids(_get(msh, 3), only16=True)
    ids: list[tuple[str, str]] = []
    for kind, values in (
        ("eui64", euis_obx + euis_obr + msh_eui),
        ("hardware", hw_obx),
    ):
        for v in values:
            if (kind, v) not in ids:
                ids.append((kind, v))
    if bed:
        ids.append(("bed", bed))
    if app and facility:
        ids.append(("application", f"{app}^{facility}"))
    if app:
        ids.append(("application", app))
    out.identifiers = ids


def _obx(r: Reader, f: list[str], position: int, group: int) -> Obx:
    if len(f) < _OBX_FIELDS:
        f = f + [""] * (_OBX_FIELDS - len(f))  # absent fields read as ""
    equipment: list[str] = []
    for rep in r.reps(f[18]):
        equipment += r.hex_ids(rep)
    code = r.comps(f[3])
    unit = r.comps(f[6])
    value = r.unescape(f[5]).strip()
    comp, rep = r.seps.component, r.seps.repetition
    return Obx(
        position=position,
        value_type=r.comp(f[2], 1).upper(),
        ident=code[0].strip(),
        text=code[1].strip() if len(code) > 1 else "",
        system=code[2].strip() if len(code) > 2 else "",
        sub_id=r.unescape(f[4]).strip(),
        value=value,
        value_parts=[p.strip() for p in r.comps(f[5])]
        if comp in value or rep in value
        else [value],
        unit_ident=unit[0].strip(),
        unit_text=unit[1].strip() if len(unit) > 1 else "",
        ranges=r.unescape(f[7]).strip(),
        abnormal=[r.unescape(a).strip() for a in r.reps(f[8])],
        time=r.comp(f[14], 1),
        equipment=equipment,
        group=group,
        status=r.comp(f[11], 1).upper(),
    )


def _inherit_times(rows: list[Obx], group_time: dict[int, str], sent: str) -> None:
    """OBX-14, else the nearest ancestor's (OBX-4 "1.0.1.2" -> "1.0.1" -> "1.0"),
    else the group's OBR-7, else MSH-7 (IHE PCD: a parent's time applies below)."""
    by_group: dict[int, dict[str, str]] = {}
    for row in rows:
        if row.time and row.sub_id:
            by_group.setdefault(row.group, {})[row.sub_id] = row.time
    for row in rows:
        if row.time:
            continue
        known = by_group.get(row.group, {})
        sub = row.sub_id
        while "." in sub:
            sub = sub.rsplit(".", 1)[0]
            if sub in known:
                row.time = known[sub]
                break
        else:
            row.time = group_time.get(row.group, "") or sent
