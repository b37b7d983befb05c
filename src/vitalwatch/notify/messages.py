"""What a secondary notification says.

No patient data leaves the service in a notification: it names the room,
the priority, the alarm's message (values and limits), the session id (an
internal number that identifies the patient only to someone signed in to
VitalWatch) and links. Never the patient's name, reference (MRN) or date of
birth. Every notification says that it is secondary: the bedside monitor and
the central station are the primary alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SECONDARY = (
    "Secondary notification: the bedside monitor and the central station are the "
    "primary alarm. Go to the patient or the central station."
)


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    """The alarm as a notification may show it (no patient data)."""

    id: int
    session_id: int
    room: str | None
    priority: str
    kind: str
    rule: str
    state: str
    message: str
    value: float | None
    threshold: float | None
    raised_at: datetime
    escalated_at: datetime | None = None  # handed to secondary notification

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "room": self.room,
            "priority": self.priority,
            "kind": self.kind,
            "rule": self.rule,
            "state": self.state,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
            "raised_at": _iso(self.raised_at),
            "escalated_at": _iso(self.escalated_at) if self.escalated_at else None,
        }


@dataclass(frozen=True, slots=True)
class Notice:
    key: str
    title: str
    text: str
    priority: str
    alarm: AlarmFacts | None  # None: a test notification
    reason: str
    step: int | None
    attempt: int
    ack_url: str | None
    ack_as: str | None
    station_url: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The webhook body (docs/api.md "Secondary notification")."""
        return {
            "type": "vitalwatch.alarm.escalated" if self.alarm else "vitalwatch.test",
            "secondary": True,
            "notice": SECONDARY,
            "idempotency_key": self.key,
            "title": self.title,
            "text": self.text,
            "priority": self.priority,
            "reason": self.reason,
            "step": self.step,
            "attempt": self.attempt,
            "alarm": self.alarm.as_json() if self.alarm else None,
            "links": {
                "acknowledge": self.ack_url,
                "acknowledge_as": self.ack_as,
                "central_station": self.station_url,
            },
            "created_at": _iso(self.created_at),
            "sent_at": _iso(datetime.now(UTC)),
        }


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _clock(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%H:%M:%S UTC")


def alarm_notice(
    *,
    key: str,
    alarm: AlarmFacts,
    reason: str,
    step: int,
    attempt: int,
    ack_url: str | None,
    ack_as: str | None,
    station_url: str,
    created_at: datetime,
) -> Notice:
    room = alarm.room or (f"session {alarm.session_id}" if alarm.session_id else "the station")
    what = "technical alarm" if alarm.kind == "technical" else "alarm"
    title = f"VitalWatch secondary: {alarm.priority.upper()} {what}, {room}"
    lines = [
        f"{alarm.priority.upper()} {what}, {room} (session {alarm.session_id}): {alarm.message}",
        f"Not answered at the central station: {reason}" if reason != alarm.message else "",
        SECONDARY,
        f"Acknowledge (as {ack_as}): {ack_url}" if ack_url else "",
        f"Central station: {station_url}",
        f"Alarm {alarm.id}, raised {_clock(alarm.raised_at)}. "
        f"Notification {key} (step {step}, attempt {attempt}).",
    ]
    return Notice(
        key=key,
        title=title,
        text="\n".join(line for line in lines if line),
        priority=alarm.priority,
        alarm=alarm,
        reason=reason,
        step=step,
        attempt=attempt,
        ack_url=ack_url,
        ack_as=ack_as,
        station_url=station_url,
        created_at=created_at,
    )


def test_notice(*, key: str, target: str, by: str, station_url: str) -> Notice:
    now = datetime.now(UTC)
    text = (
        f"TEST of the VitalWatch secondary notification to '{target}', sent by {by} at "
        f"{_clock(now)}. No patient is involved and nothing needs to be done.\n{SECONDARY}\n"
        f"Notification {key}."
    )
    return Notice(
        key=key,
        title="VitalWatch secondary notification: TEST",
        text=text,
        priority="low",
        alarm=None,
        reason="test",
        step=None,
        attempt=1,
        ack_url=None,
        ack_as=None,
        station_url=station_url,
        created_at=now,
    )
