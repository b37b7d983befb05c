"""What a monitor itself tells the nurse: its own alarms (ORU^R40, IHE PCD-04),
and a patient ID that is not the session's patient.

Both are stored, put on the session's timeline and published to every
dashboard once committed; neither reaches the alarm engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vitalwatch.db import from_ms, unit_of_work, utcnow
from vitalwatch.devices import repository as devices_repo
from vitalwatch.devices.service import DeviceDirectory
from vitalwatch.hl7 import ack, extract, repository
from vitalwatch.hl7.mapping import Mapping
from vitalwatch.hl7.models import MonitorAlarm
from vitalwatch.hl7.parser import Message
from vitalwatch.hl7.times import to_ms
from vitalwatch.logging import get_logger
from vitalwatch.sessions.models import SessionEvent
from vitalwatch.sessions.ports import LiveEvents

log = get_logger(__name__)

_PID_RECHECK_S = 10.0
_ENDED_PHASES = frozenset({"end", "stop", "ended"})
_ENDED_STATES = frozenset({"inactive", "off", "disabled", "ended"})


@dataclass(frozen=True, slots=True)
class Hl7Device:
    id: int
    name: str
    tz: tzinfo


class MonitorReports:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        hub: LiveEvents,
        devices: DeviceDirectory,
        mapping: Mapping,
    ) -> None:
        self._maker = maker
        self._hub = hub
        self._devices = devices
        self.mapping = mapping
        self._pid_checked: dict[tuple[int, str], float] = {}
        self._refs: dict[int, str | None] = {}

    async def _session_of(self, device_id: int) -> int | None:
        """The device's active session, read now (a binding may have just changed)."""
        async with unit_of_work(self._maker) as db:
            return await devices_repo.session_of(db, device_id)

    async def check_patient(
        self, message: Message, device: Hl7Device, session_id: int | None = None
    ) -> None:
        """A PID that is not the session's patient: a warning on the session's
        timeline and to every dashboard, once per session and PID (binding is by
        device, never by PID: the readings are stored all the same)."""
        pid = message.patient_id
        if not pid:
            return
        now = time.monotonic()
        mark = (device.id, pid)
        if now - self._pid_checked.get(mark, -1e9) < _PID_RECHECK_S:
            return
        self._pid_checked[mark] = now
        if len(self._pid_checked) > 10_000:
            self._pid_checked.clear()
        if session_id is None:
            session_id = await self._session_of(device.id)
        if session_id is None:
            return
        async with unit_of_work(self._maker) as db:
            if len(self._refs) > 10_000:
                self._refs.clear()
            if session_id not in self._refs:
                self._refs[session_id] = await repository.patient_ref(db, session_id)
            ref = self._refs[session_id]
            if ref is None or ref.strip().casefold() == pid.strip().casefold():
                return
            detail = (
                f"{device.name} sends patient ID {pid}, not this session's patient {ref}: "
                "check the patient on the monitor and the session"
            )
            if await repository.warned(db, session_id, detail):
                return
            event = SessionEvent(
                session_id=session_id, kind="monitor_warning", ts=utcnow(), detail=detail
            )
            db.add(event)
            await db.flush()
            await self._hub.emit(
                db,
                "monitor_warning",
                {
                    "warning": {
                        "id": event.id,
                        "session_id": session_id,
                        "device_id": device.id,
                        "ts": event.ts.isoformat(),
                        "message": detail,
                    }
                },
            )
        log.info("hl7_patient_mismatch", session_id=session_id, device_id=device.id)

    async def alarms(self, message: Message, device: Hl7Device) -> tuple[bytes | None, str]:
        reports = extract.alarms(message, self.mapping)
        session_id = await self._session_of(device.id)
        if session_id is None:
            text = (
                f"no active session for {device.name} (device {device.id}): its alarm is "
                "not shown to anyone; nothing stored"
            )
            return ack.build(message, "AE", text, ack.INTERNAL), "AE"
        if not reports:
            return ack.build(message, "AA", "no alarm in this message"), "AA"
        await self.store(device, session_id, message.control_id, reports)
        await self.check_patient(message, device, session_id)
        return ack.build(message, "AA"), "AA"

    async def store(
        self,
        device: Hl7Device,
        session_id: int,
        control_id: str,
        reports: list[extract.AlarmReport],
    ) -> None:
        """The monitor's alarm reports (an ORU^R40's, an SDC provider's alert
        states) on the session: a resent report is stored once."""
        for attempt in range(2):
            try:
                async with unit_of_work(self._maker) as db:
                    for report in reports:
                        await self._store_report(db, control_id, device, session_id, report)
                break
            except IntegrityError:  # the same report on two connections at once
                if attempt:  # the second time every report is known: stored once
                    raise
        self._devices.seen(device.id, utcnow())

    async def _store_report(
        self,
        db: AsyncSession,
        control_id: str,
        device: Hl7Device,
        session_id: int,
        report: extract.AlarmReport,
    ) -> None:
        ts_ms = to_ms(report.time, device.tz) or int(time.time() * 1000)
        control = control_id[:80]
        code = report.code[:64]
        if await repository.report_known(db, device.id, control, code, ts_ms):
            return  # a resent report
        ended = report.phase in _ENDED_PHASES or report.state in _ENDED_STATES
        previous = await repository.last_shown(db, session_id, device.id, code)
        if previous is None:
            shown = not ended
        else:
            was_ended = previous.phase in _ENDED_PHASES or previous.state in _ENDED_STATES
            shown = was_ended != ended or (
                not ended
                and (previous.priority, previous.label) != (report.priority, report.label[:200])
            )
        row = MonitorAlarm(
            session_id=session_id,
            device_id=device.id,
            control_id=control,
            ts_ms=ts_ms,
            code=code,
            label=report.label[:200],
            priority=report.priority,
            kind=report.kind,
            phase=report.phase[:16],
            state=report.state[:16],
            metric=report.metric,
            source=(report.source or None) and report.source[:120],
            value=report.value,
            unit=(report.unit or None) and report.unit[:64],
            limits=(report.limits or None) and report.limits[:64],
            shown=int(shown),
        )
        db.add(row)
        await db.flush()
        if not shown:
            return
        db.add(
            SessionEvent(
                session_id=session_id,
                kind="monitor_alarm",
                ts=from_ms(ts_ms),
                detail=timeline_text(row),
                data={
                    "id": row.id,
                    "kind": row.kind,
                    "priority": row.priority,
                    "active": _active(row),
                },
            )
        )
        await self._hub.emit(db, "monitor_alarm", {"monitor_alarm": alarm_view(row, device.name)})


def _active(row: MonitorAlarm) -> bool:
    return not (row.phase in _ENDED_PHASES or row.state in _ENDED_STATES)


#: How the timeline names the monitor's alarm kinds (PCD-04 "SP" / "ST" / "SA").
_KIND_WORDS = {"physiological": "patient alarm", "technical": "technical alarm"}


def timeline_text(row: MonitorAlarm) -> str:
    """The timeline's words: "Monitor: Lead off (technical alarm)", "Monitor:
    ** RR High (patient alarm, ended)": a probe off is not the patient's state."""
    words = _KIND_WORDS.get(row.kind, row.kind)
    return f"Monitor: {row.label} ({words}{'' if _active(row) else ', ended'})"


def alarm_view(row: MonitorAlarm, device_name: str) -> dict[str, Any]:
    """A monitor alarm as the API and the live event show it."""
    active = _active(row)
    text = f"Monitor: {row.label}" if active else f"Monitor: {row.label} (ended)"
    return {
        "id": row.id,
        "session_id": row.session_id,
        "device_id": row.device_id,
        "device_name": device_name,
        "ts": from_ms(row.ts_ms).isoformat(),
        "code": row.code,
        "label": row.label,
        "message": text,
        "priority": row.priority,
        "kind": row.kind,
        "phase": row.phase,
        "state": row.state,
        "active": active,
        "metric": row.metric,
        "source": row.source,
        "value": row.value,
        "unit": row.unit,
        "limits": row.limits,
    }
