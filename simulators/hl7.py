"""HL7 v2 over MLLP for the simulators: monitors that speak PCD-01 and PCD-04.

Four dialects, in the shapes real senders use: IHE PCD-01 with MDC codes and
the EUI-64 in OBX-18 (`ihe`), the Philips IntelliVue Information Center's
classic v2.3 export with MDIL codes, the bed in PV1-3 and the time in OBR-7
only (`philips`), Mindray's eGateway PCD-01 (`mindray`) and VitalDB
VitalRecorder's parameter names (`vitalrecorder`). Each room's monitor keeps
its dialect; the runner gives them out in turn. Alarms the monitor itself
raises (crossing its own limits, probe off) go out as ORU^R40.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulators.device import NotAcknowledged, Refused, SimDevice

DIALECTS = ("ihe", "philips", "mindray", "vitalrecorder")
START, END = b"\x0b", b"\x1c\x0d"


def dtm(epoch_s: float, offset: bool = True) -> str:
    t = datetime.fromtimestamp(epoch_s, tz=UTC)
    text = t.strftime("%Y%m%d%H%M%S") + f".{t.microsecond // 1000:03d}"
    return text + "+0000" if offset else text


@dataclass(frozen=True)
class Identity:
    """How a simulated monitor names itself (what an admin registers as hl7_ids)."""

    eui64: str  # 16 hex digits
    bed: str  # PV1-3, e.g. "ICU^^BED3"

    def hl7_id(self, dialect: str) -> str:
        """The identifier VitalWatch matches for this dialect."""
        return self.bed if dialect in ("philips", "vitalrecorder") else self.eui64


_MDC = {
    "hr": ("147842", "MDC_ECG_HEART_RATE", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
    "spo2": ("150456", "MDC_PULS_OXIM_SAT_O2", "262688^MDC_DIM_PERCENT^MDC"),
    "rr": ("151562", "MDC_RESP_RATE", "264928^MDC_DIM_RESP_PER_MIN^MDC"),
    "sbp": ("150021", "MDC_PRESS_BLD_NONINV_SYS", "266016^MDC_DIM_MMHG^MDC"),
    "dbp": ("150022", "MDC_PRESS_BLD_NONINV_DIA", "266016^MDC_DIM_MMHG^MDC"),
    "map": ("150023", "MDC_PRESS_BLD_NONINV_MEAN", "266016^MDC_DIM_MMHG^MDC"),
}
_MINDRAY = {
    **_MDC,
    "sbp": ("150301", "MDC_PRESS_CUFF_SYS", "266016^MDC_DIM_MMHG^MDC"),
    "dbp": ("150302", "MDC_PRESS_CUFF_DIA", "266016^MDC_DIM_MMHG^MDC"),
    "map": ("150303", "MDC_PRESS_CUFF_MEAN", "266016^MDC_DIM_MMHG^MDC"),
}
_MDIL = {
    "hr": ("0002-4182^HR^MDIL", "0004-0aa0^bpm^MDIL"),
    "spo2": ("0002-4bb8^SpO2^MDIL", "0004-0220^%^MDIL"),
    "rr": ("0002-500a^RR^MDIL", "0004-0ae0^rpm^MDIL"),
    "sbp": ("0002-4a05^NBPs^MDIL", "0004-0f20^mmHg^MDIL"),
    "dbp": ("0002-4a06^NBPd^MDIL", "0004-0f20^mmHg^MDIL"),
    "map": ("0002-4a07^NBPm^MDIL", "0004-0f20^mmHg^MDIL"),
}
_VR = {
    "hr": ("ECG_HR^Monitor/HR", "bpm"),
    "spo2": ("PLETH_SPO2^Monitor/SpO2", "%"),
    "rr": ("RR^Monitor/RR", "/min"),
    "sbp": ("NIBP_SBP^Monitor/NIBP_SBP", "mmHg"),
    "dbp": ("NIBP_DBP^Monitor/NIBP_DBP", "mmHg"),
    "map": ("NIBP_MBP^Monitor/NIBP_MBP", "mmHg"),
}
_ORDER = ("hr", "spo2", "rr", "sbp", "dbp", "map")


def oru_r01(
    dialect: str,
    who: Identity,
    control_id: str,
    ts: float,
    values: dict[str, float],
    patient_id: str = "",
    bp_ts: float | None = None,
) -> bytes:
    """One ORU^R01 (PCD-01) with the values measured at `ts` (BP at `bp_ts`)."""
    bp_ts = ts if bp_ts is None else bp_ts
    metrics = [m for m in _ORDER if m in values]
    when = {m: (bp_ts if m in ("sbp", "dbp", "map") else ts) for m in metrics}
    if dialect == "philips":
        segs = [
            f"MSH|^~\\&|||||||ORU^R01|{control_id}|P|2.3||||||8859/1",
            f'PID|||{patient_id}^^^^MR||Patient^Simulated||""|U',
            f"PV1||I|{who.bed}",
            f"OBR|||||||{dtm(ts, offset=False)}",
        ]
        segs += [f"OBX||NM|{_MDIL[m][0]}|0|{values[m]:g}|{_MDIL[m][1]}|||||F" for m in metrics]
    elif dialect == "vitalrecorder":
        segs = [
            f"MSH|^~\\&|VitalRecorder|VR_{who.eui64[-6:]}|||{dtm(ts, offset=False)}||ORU^R01|"
            f"{control_id}|P|2.6",
            f"PID|||{patient_id}",
            f"PV1||I|{who.bed}",
            f"OBR|1|||VITAL_SIGNS|||{dtm(ts, offset=False)}",
        ]
        segs += [
            f"OBX|{k}|NM|{_VR[m][0]}||{values[m]:g}|{_VR[m][1]}|||||R|||{dtm(when[m], False)}"
            for k, m in enumerate(metrics, 1)
        ]
    else:
        codes = _MINDRAY if dialect == "mindray" else _MDC
        app = "MINDRAY_EGATEWAY" if dialect == "mindray" else "VWSIM"
        segs = [
            f"MSH|^~\\&|{app}^{who.eui64}^EUI-64|VW|||{dtm(ts)}||ORU^R01^ORU_R01|{control_id}|P|"
            "2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
            f"PID|||{patient_id}^^^Hospital^PI||^^^^^^L",
            f"PV1||I|{who.bed}",
            f"OBR|1|{control_id}^{app}^{who.eui64}^EUI-64||182777000^monitoring of patient^SCT"
            f"|||{dtm(ts)}",
        ]
        for k, m in enumerate(metrics, 1):
            code, name, unit = codes[m]
            segs.append(
                f"OBX|{k}|NM|{code}^{name}^MDC|1.{k}.1.{code}|{values[m]:g}|{unit}|||||R|||"
                f"{dtm(when[m])}||||{who.eui64}^^{who.eui64}^EUI-64"
            )
    return ("\r".join(segs) + "\r").encode()


def oru_r40(
    dialect: str,
    who: Identity,
    control_id: str,
    ts: float,
    label: str,
    priority: str,  # PH | PM | PL
    kind: str,  # SP | ST
    phase: str,  # start | continue | end
    event: str = "196616^MDC_EVT_ALARM^MDC",
    metric: str | None = None,
    value: float | None = None,
) -> bytes:
    """One ORU^R40 (PCD-04) alarm report, in the Philips (older attribute codes)
    or Mindray (newer) shape."""
    state = "inactive" if phase == "end" else "active"
    if dialect == "philips":
        segs = [
            f"MSH|^~\\&|||||{dtm(ts, False)}||ORU^R40^ORU_R40|{control_id}|P|2.6|||AL|NE||8859/1",
            'PID|||""^^^^MR',
            f"PV1||I|{who.bed}",
            f"OBR||||ALARM^ALARM|||{dtm(ts, False)}",
            f"OBX||ST|196648^MDC_EVT_HI^MDC|1.1.1.1.1|{label}|||F||||||||||MON1^{who.eui64}",
        ]
        if metric is not None and value is not None:
            code, name, unit = _MDC[metric]
            segs.append(f"OBX||NM|{code}^{name}^MDC|1.1.1.1.2|{value:g}|{unit}||F")
        segs += [
            f"OBX||ST|68165^MDC_ATTR_EVENT_PHASE^MDC|1.1.1.1.3|{phase}|||F",
            f"OBX||ST|68166^MDC_ATTR_ALARM_STATE^MDC|1.1.1.1.4|{state}|||F",
        ]
    else:
        segs = [
            f"MSH|^~\\&|MINDRAY_^{who.eui64}^EUI-64|MINDRAY|||{dtm(ts)}||ORU^R40^ORU_R40|"
            f"{control_id}|P|2.6|||AL|NE||UNICODE UTF-8",
            "PID|||^^^Hospital^PI",
            f"PV1||I|{who.bed}",
            f"OBR|1||{control_id}^MINDRAY_^{who.eui64}^EUI-64|196616^MDC_EVT_ALARM^MDC|||{dtm(ts)}",
            f"OBX|1|CWE|196616^MDC_EVT_ALARM^MDC|1.7.0.1|{event}^^^^^^{label}|||"
            f"A~{priority}~{kind}|||R|||{dtm(ts)}||||{who.eui64}^^{who.eui64}^EUI-64",
            *(
                [
                    f"OBX|6|NM|{_MDC[metric][0]}^{_MDC[metric][1]}^MDC|1.7.0.2|{value:g}|"
                    f"{_MDC[metric][2]}|||||R"
                ]
                if metric is not None and value is not None
                else []
            ),
            f"OBX|2|ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.7.0.3|{phase}||||||R",
            f"OBX|3|ST|68482^MDC_ATTR_ALARM_STATE^MDC|1.7.0.4|{state}||||||R",
            f"OBX|4|ST|68484^MDC_ATTR_ALARM_PRIORITY^MDC|1.7.0.6|{priority}||||||R",
            f"OBX|5|ST|68485^MDC_ATTR_ALERT_TYPE^MDC|1.7.0.7|{kind}||||||R",
        ]
    return ("\r".join(segs) + "\r").encode()


def hl7_batch(messages: list[bytes], batch_id: str, file_id: str | None = None) -> bytes:
    """An HL7 batch (v2.5 2.10.3) of `messages`, as a central-station gateway sends
    several beds in one frame: BHS ... BTS, inside FHS ... FTS when `file_id`."""
    now = dtm(datetime.now(UTC).timestamp())
    head = [f"BHS|^~\\&|VWGATEWAY|WARD|||{now}||||{batch_id}"]
    tail = [f"BTS|{len(messages)}"]
    if file_id is not None:
        head.insert(0, f"FHS|^~\\&|VWGATEWAY|WARD|||{now}||||{file_id}")
        tail.append("FTS|1")
    return (
        ("\r".join(head) + "\r").encode() + b"".join(messages) + ("\r".join(tail) + "\r").encode()
    )


def acks_of(reply: bytes) -> list[bytes]:
    """The ACK messages of a reply (one ACK, or each ACK of an ACK batch)."""
    out: list[bytes] = []
    for seg in reply.replace(b"\n", b"\r").split(b"\r"):
        if seg.startswith(b"MSH"):
            out.append(seg + b"\r")
        elif out and seg and seg[:3] not in (b"BTS", b"FTS", b"BHS", b"FHS"):
            out[-1] += seg + b"\r"
    return out


def _unescape(text: str) -> str:
    for code, char in (("F", "|"), ("S", "^"), ("R", "~"), ("T", "&"), ("E", "\\")):
        text = text.replace(f"\\{code}\\", char)
    return text


def ack_code(ack: bytes) -> tuple[str, str]:
    """(MSA-1, the ERR/MSA text, unescaped) of an ACK."""
    code, text = "", ""
    for seg in ack.replace(b"\n", b"\r").split(b"\r"):
        fields = seg.decode("utf-8", "replace").split("|")
        if fields[0] == "MSA":
            code = fields[1] if len(fields) > 1 else ""
            text = fields[3] if len(fields) > 3 else ""
        elif fields[0] == "ERR" and len(fields) > 8 and fields[8]:
            text = fields[8]
    return code, _unescape(text)


class MllpClient:
    """One MLLP connection; messages may be pipelined, ACKs come back in order."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._buffer = b""

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout
        )
        self._buffer = b""

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def __aenter__(self) -> MllpClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def write(self, payload: bytes) -> None:
        assert self._writer is not None
        self._writer.write(START + payload + END)

    async def read_ack(self) -> bytes:
        assert self._reader is not None
        while END not in self._buffer:
            chunk = await asyncio.wait_for(self._reader.read(65536), self.timeout)
            if not chunk:
                raise ConnectionError("the service closed the connection without an ACK")
            self._buffer += chunk
        frame, self._buffer = self._buffer.split(END, 1)
        return frame[frame.find(START) + 1 :]

    async def send(self, payload: bytes) -> bytes:
        self.write(payload)
        assert self._writer is not None
        await self._writer.drain()
        return await self.read_ack()

    async def send_many(self, payloads: list[bytes]) -> list[bytes]:
        """Pipelined: every message written, then every ACK read."""
        for p in payloads:
            self.write(p)
        assert self._writer is not None
        await self._writer.drain()
        return [await self.read_ack() for _ in payloads]


#: The monitor's own limits (what raises its ORU^R40), as many monitors ship them.
MONITOR_LIMITS = (
    ("spo2", "<", 90.0, "*** Desat", "PH"),
    ("hr", ">", 120.0, "** HR High", "PM"),
    ("hr", "<", 50.0, "** HR Low", "PM"),
    ("rr", ">", 30.0, "** RR High", "PM"),
    ("rr", "<", 8.0, "** RR Low", "PM"),
)
_counter = itertools.count(1)


@dataclass
class Hl7SimDevice(SimDevice):
    """A simulated monitor sending PCD-01 readings and PCD-04 alarms over MLLP.

    One message per simulated second, pipelined over one long-lived
    connection; a batch without every ACK is resent whole (same control ids,
    so the service stores each message once)."""

    host: str = "127.0.0.1"
    port: int = 2575
    dialect: str = "ihe"
    who: Identity = field(default_factory=lambda: Identity("0012A5FFFE000001", "SIM^^1"))
    patient_id: str = ""
    monitor_alarms: list[str] = field(default_factory=list)
    _client: MllpClient | None = None
    _active: dict[str, str] = field(default_factory=dict)  # label -> priority
    _probe_off: bool = False

    def _message_id(self) -> str:
        return f"{self.dialect[:2].upper()}{next(_counter)}"

    def _alarms(self, sample: dict[str, Any], ts: float) -> list[bytes]:
        out = []
        r40 = "philips" if self.dialect == "philips" else "mindray"
        for metric, op, limit, label, priority in MONITOR_LIMITS:
            v = sample.get(metric)
            if v is None:
                continue
            crossed = v < limit if op == "<" else v > limit
            if crossed == (label in self._active):
                continue
            if crossed:
                self._active[label] = priority
                self.monitor_alarms.append(label)
            else:
                del self._active[label]
            phase = "start" if crossed else "end"
            out.append(
                oru_r40(
                    r40,
                    self.who,
                    self._message_id(),
                    ts,
                    label,
                    priority,
                    "SP",
                    phase,
                    metric=metric,
                    value=v,
                )
            )
        probe_off = "spo2" not in sample and "hr" not in sample
        if probe_off != self._probe_off:
            self._probe_off = probe_off
            out.append(
                oru_r40(
                    r40,
                    self.who,
                    self._message_id(),
                    ts,
                    "!! SpO2 Probe Off",
                    "PL",
                    "ST",
                    "start" if probe_off else "end",
                    event="196680^MDC_EVT_LEAD_OFF^MDC",
                )
            )
            if probe_off:
                self.monitor_alarms.append("!! SpO2 Probe Off")
        return out

    def to_messages(self, samples: list[dict[str, Any]]) -> list[bytes]:
        out = []
        for s in samples:
            ts = datetime.fromisoformat(s["ts"].replace("Z", "+00:00")).timestamp()
            values = {k: v for k, v in s.items() if k in _ORDER}
            out.append(
                oru_r01(self.dialect, self.who, self._message_id(), ts, values, self.patient_id)
            )
            out += self._alarms(values, ts)
        return out

    async def post(self, samples: list[dict[str, Any]], attempts: int = 8) -> dict[str, int]:
        if not samples:
            return {"accepted": 0, "duplicates": 0}
        messages = self.to_messages(samples)
        delay = 0.2
        for attempt in range(attempts):
            try:
                if self._client is None:
                    self._client = MllpClient(self.host, self.port)
                    await self._client.connect()
                acks = await self._client.send_many(messages)
            except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError):
                if self._client is not None:
                    await self._client.close()
                self._client = None
                self.retries += 1
                await asyncio.sleep(delay * (1 + attempt))
                continue
            codes = [ack_code(a) for a in acks]
            refused = [t for c, t in codes if c != "AA"]
            if refused:
                raise Hl7Refused(refused[0])
            lose = self.faults.lost_ack_rate and self._rng.random() < self.faults.lost_ack_rate
            if lose:  # "the ACK got lost": the same messages again, stored once
                self.retries += 1
                await self._client.send_many(messages)
            return {"accepted": len(messages), "duplicates": 0}
        raise NotAcknowledged(
            f"{len(messages)} HL7 messages not acknowledged after {attempts} tries"
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class Hl7Refused(Refused):
    """The service answered AE or AR (the room stops, as for a 4xx)."""

    def __init__(self, text: str) -> None:  # no HTTP response to read
        Exception.__init__(self, f"HL7 message refused: {text[:200]}")
        self.status = 0


def room_identity(run: str, index: int) -> Identity:
    """A monitor's identifiers, unique per run (`run`: 10 hex digits) and room."""
    return Identity(f"{run[:10].upper()}{index:06X}", f"SIM{run[:6].upper()}^^{index + 1}")


def transport_of(transport: str, index: int) -> str:
    """`http`, `hl7`, or `mixed` (every other room on HL7)."""
    if transport == "mixed":
        return "hl7" if index % 2 == 1 else "http"
    return transport


def parse_address(text: str, default_host: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return (host or default_host), int(port)
