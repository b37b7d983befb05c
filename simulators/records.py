"""The nurse's side of a simulated session: the pre-dose checklist (a clinician's
decision when the BP gate asks for one), the dose with its details, an
observation every 15 simulated minutes, the infusion stop, and the discharge
sign-off once the service says the patient is ready. The runner calls it at
three moments (before the dose, for the dose's body, after each step), so the
demo shows every stage of a session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulators.staff import Staff

OBSERVE_EVERY_S = 15 * 60
CHECK_EVERY_S = 60  # simulated seconds between looks at the readiness
#: protocol -> the dose a nurse records
DOSES: dict[str, dict[str, Any]] = {
    "esketamine-in": {"amount": 56, "unit": "mg", "route": "intranasal"},
    "ketamine-iv": {"amount": 0.5, "unit": "mg/kg", "weight_kg": 75, "route": "iv_infusion"},
    "ketamine-im": {"amount": 0.5, "unit": "mg/kg", "weight_kg": 75, "route": "im"},
}
INFUSION_S = 40 * 60


@dataclass
class _Room:
    dose_event: int | None = None
    observed_at: float = -1e9
    checked_at: float = -1e9
    stopped: bool = False
    signed_off: bool = False
    problems: list[str] = field(default_factory=list)


class RecordKeeper:
    """What the nurse documents; failures are noted per session, never fatal."""

    def __init__(self, staff: Staff) -> None:
        self.staff = staff
        self.rooms: dict[int, _Room] = {}

    def _room(self, session_id: int) -> _Room:
        return self.rooms.setdefault(session_id, _Room())

    async def before_dose(self, session_id: int) -> None:
        """Tick every check item; decide the BP gate (proceed) when it asks."""
        r = await self.staff.request("GET", f"/api/v1/sessions/{session_id}/checklist")
        if r.status_code != 200:
            self._room(session_id).problems.append(f"checklist: {r.status_code}")
            return
        for item in r.json()["items"]:
            if item["satisfied"]:
                continue
            body: dict[str, Any] = {"done": True}
            if item["kind"] == "bp_gate":
                if item["bp"] is None:
                    continue  # no pre-dose BP: the dose is recorded with the gap flagged
                body = {
                    "decision": "proceed",
                    "clinician": "Dr Demo (simulated)",
                    "reason": "Simulated patient: BP reviewed, dosing goes ahead",
                }
            await self.staff.request(
                "PUT", f"/api/v1/sessions/{session_id}/checklist/{item['key']}", json=body
            )

    def dose_body(self, protocol: str, ts: str, detail: str) -> dict[str, Any]:
        dose = dict(DOSES.get(protocol, {"amount": 1, "unit": "mg", "route": "other"}))
        dose["lot_number"] = "SIM-LOT-1"
        return {
            "kind": "dose",
            "ts": ts,
            "detail": detail,
            "dose": dose,
            "override_reason": "Simulated session: checklist gaps accepted",
        }

    def dosed(self, session_id: int, event: dict[str, Any]) -> None:
        self._room(session_id).dose_event = int(event["id"])

    async def after_step(
        self,
        session_id: int,
        protocol: str,
        t: float,
        dose_at_s: float,
        ts_of: Callable[[float], str],
    ) -> None:
        """Observations, the infusion stop and the sign-off, as simulated time passes."""
        room = self._room(session_id)
        if room.dose_event is None or room.signed_off or t < dose_at_s:
            return
        since = t - dose_at_s
        if protocol == "ketamine-iv" and not room.stopped and since >= INFUSION_S:
            room.stopped = True
            await self.staff.request(
                "POST",
                f"/api/v1/sessions/{session_id}/doses/{room.dose_event}/stop",
                json={"ts": ts_of(dose_at_s + INFUSION_S)},
            )
        if t - room.observed_at >= OBSERVE_EVERY_S:
            room.observed_at = t
            recovering = since < 45 * 60
            await self.staff.request(
                "POST",
                f"/api/v1/sessions/{session_id}/observations",
                json={
                    "ts": ts_of(t),
                    "moass": 4 if recovering else 5,
                    "dissociation": "mild" if recovering else "none",
                    "nausea": False,
                },
            )
        if t - room.checked_at < CHECK_EVERY_S:
            return
        room.checked_at = t
        await self.sign_off(session_id)

    def signed(self, session_id: int) -> bool:
        return self._room(session_id).signed_off

    async def sign_off(self, session_id: int, overdue: bool = False) -> None:
        """Sign the discharge off once the service says the patient is ready; an
        `overdue` patient (the room is needed) is signed off anyway, with the
        criteria still open given as the reason, so the record says so."""
        room = self._room(session_id)
        if room.signed_off:
            return
        r = await self.staff.request("GET", f"/api/v1/sessions/{session_id}/readiness")
        if r.status_code != 200:
            room.problems.append(f"readiness: {r.status_code}")
            return
        readiness = r.json()
        body: dict[str, Any] = {"left_with": "Family member (simulated)"}
        if not readiness["ready"]:
            if not overdue:
                return
            open_ = "; ".join(readiness["reasons"]) or "criteria not met"
            body["override_reason"] = f"Simulated discharge, not all criteria met: {open_}"[:1000]
        signed = await self.staff.request(
            "POST", f"/api/v1/sessions/{session_id}/discharge", json=body
        )
        room.signed_off = signed.status_code == 200
        if not room.signed_off:
            room.problems.append(f"sign-off: {signed.status_code}")
