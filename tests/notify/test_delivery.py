"""Secondary notification end to end, on SQLite and PostgreSQL: a real server
escalates an alarm, and real receivers (signed webhook, ntfy-style HTTP, SMTP,
an apprise URL) get it; the chain stops on acknowledge and on resolve; a target
that is down is retried with backoff and the alarm log says so."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.notify.peers import (
    Receiver,
    SmtpServer,
    add_target,
    alarm_log,
    escalate,
    just,
    outbox,
    set_chain,
)
from tests.support import ADMIN, Api, wait_for


def no_patient_data(text: str, session: dict[str, Any]) -> None:
    patient = session["patient"]
    for value in (patient["ref"], patient.get("display_name") or "Test Patient"):
        assert value not in text


async def test_signed_webhook_then_chain_stops_on_acknowledge(
    napi: Api, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    first = await receivers(secret="s" * 40)
    second = await receivers(secret="t" * 40)
    a = await add_target(
        napi, name="Charge nurse pager", kind="webhook", address=first.url, secret=first.secret
    )
    b = await add_target(
        napi, name="Ward phone", kind="webhook", address=second.url, secret=second.secret
    )
    assert a["secret"] == first.secret and a["has_secret"]
    await set_chain(napi, (a["id"], 0), (b["id"], 4))
    session, alarm, trigger = await escalate(napi)

    await wait_for(lambda: just(first.accepted()), timeout=5)
    got = first.accepted()[0]
    assert got.at - trigger < 3.0
    body = got.json()
    assert body["type"] == "vitalwatch.alarm.escalated" and body["secondary"] is True
    assert "bedside monitor" in body["notice"] and "primary" in body["notice"]
    assert got.key == body["idempotency_key"] and got.key.startswith("vw-")
    assert body["alarm"]["id"] == alarm["id"]
    assert body["alarm"]["room"] == session["room"]
    assert body["alarm"]["priority"] == "high"
    assert body["links"]["acknowledge"] is None  # the target names no staff user
    assert "Secondary notification" in body["text"] and session["room"] in body["text"]
    no_patient_data(got.body.decode(), session)

    log = await wait_for(lambda: _notified(napi, alarm["id"], "notified"), timeout=5)
    entry = log[0]
    assert entry["detail"]["target"] == "Charge nurse pager"
    assert entry["detail"]["outcome"] == "HTTP 200" and entry["detail"]["key"] == got.key
    assert "Charge nurse pager (webhook): HTTP 200" in entry["message"]

    r = await napi.http.post(f"/api/v1/alarms/{alarm['id']}/ack", headers=await napi.auth())
    assert r.status_code == 200, r.text
    rows = {row["target_id"]: row for row in await outbox(napi, alarm["id"])}
    assert rows[a["id"]]["state"] == "sent" and rows[b["id"]]["state"] == "cancelled"
    await asyncio.sleep(5)
    assert second.got == []  # step 2 was due 4 s after hand-over: acknowledged before


async def test_resolving_the_alarm_cancels_the_chain(
    napi: Api, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    late = await receivers(secret="u" * 40)
    t = await add_target(
        napi, name="Late step", kind="webhook", address=late.url, secret=late.secret
    )
    await set_chain(napi, (t["id"], 3))
    session, alarm, _ = await escalate(napi)
    assert [r["state"] for r in await outbox(napi, alarm["id"])] == ["pending"]
    r = await napi.http.post(f"/api/v1/sessions/{session['id']}/end", headers=await napi.auth())
    assert r.status_code in (200, 201), r.text
    assert [r["state"] for r in await outbox(napi, alarm["id"])] == ["cancelled"]
    await asyncio.sleep(4)
    assert late.got == []


async def test_ntfy_push_and_email(
    napi: Api, receivers: Callable[..., Awaitable[Receiver]], mail: SmtpServer
) -> None:
    ntfy = await receivers()  # plain HTTP, as an ntfy server takes a publish
    push = await add_target(
        napi,
        name="ntfy ward-3",
        kind="ntfy",
        address=ntfy.url,
        secret="tk_ntfy_access_token",
        user=ADMIN[0],
    )
    email = await add_target(napi, name="Lead e-mail", kind="email", address="lead@clinic.test")
    await set_chain(napi, (push["id"], 0), (email["id"], 0))
    session, alarm, _ = await escalate(napi)

    await wait_for(lambda: just(ntfy.got), timeout=5)
    got = ntfy.got[0]
    assert got.headers["priority"] == "5"
    assert got.headers["title"].startswith("VitalWatch secondary: HIGH")
    assert got.headers["authorization"] == "Bearer tk_ntfy_access_token"
    assert got.key.startswith("vw-")
    text = got.body.decode()
    assert "Secondary notification" in text and session["room"] in text
    assert "/ack#" in got.headers["click"] and "Acknowledge" in got.headers["actions"]
    no_patient_data(text, session)

    mine = await wait_for(lambda: just(_mails(mail, session["room"])), timeout=10)
    message = mine[0]
    assert message["To"] == "lead@clinic.test"
    assert message["Subject"].startswith("VitalWatch secondary: HIGH")
    key = message["X-VitalWatch-Idempotency-Key"]
    assert message["Message-ID"] == f"<{key}@vitalwatch.notify>"
    rows = {r["target_id"]: r for r in await outbox(napi, alarm["id"])}
    assert rows[email["id"]]["key"] == key
    body = message.get_payload()
    assert isinstance(body, str) and "Secondary notification" in body
    no_patient_data(body, session)
    log = await wait_for(lambda: _notified(napi, alarm["id"], "notified", 2), timeout=10)
    assert {e["detail"]["outcome"] for e in log} == {"HTTP 200", "SMTP accepted"}


async def test_target_that_is_down_is_retried_with_backoff(
    napi: Api, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    down = await receivers(start=False, secret="v" * 40)
    t = await add_target(
        napi, name="Pager (down)", kind="webhook", address=down.url, secret=down.secret
    )
    await set_chain(napi, (t["id"], 0))
    _, alarm, _ = await escalate(napi)
    failed = await wait_for(lambda: _notified(napi, alarm["id"], "notify_failed", 3), timeout=10)
    waits = [e["message"].rsplit("next attempt in ", 1)[1] for e in failed[:3]]
    assert waits == ["0.5 s", "1 s", "2 s"]  # base 0.5 s, doubling, at most 2 s
    assert all("cannot reach the target" in e["message"] for e in failed)
    assert [e["detail"]["attempt"] for e in failed[:3]] == [1, 2, 3]
    await down.start()
    done = await wait_for(lambda: _notified(napi, alarm["id"], "notified"), timeout=10)
    assert done[0]["detail"]["attempt"] >= 4
    row = (await outbox(napi, alarm["id"]))[0]
    assert row["state"] == "sent" and row["attempts"] == done[0]["detail"]["attempt"]
    # delivered once (other sessions' unanswered monitor alarms may arrive as well)
    assert [g.key for g in down.accepted() if g.key == row["key"]] == [row["key"]]


async def test_apprise_url_for_other_services(
    napi: Api, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    """The long tail goes through apprise: its json:// service posts to our receiver."""
    plain = await receivers()
    t = await add_target(
        napi, name="Via apprise", kind="apprise", address=f"json://127.0.0.1:{plain.port}/hook"
    )
    await set_chain(napi, (t["id"], 0))
    session, alarm, _ = await escalate(napi)

    def ours() -> list[Any]:  # other sessions' unanswered monitor alarms notify too
        return [g for g in plain.got if f"alarm {alarm['id']}," in g.json()["message"].lower()]

    await wait_for(lambda: just(ours()), timeout=10)
    body = ours()[0].json()
    assert "Secondary notification" in body["message"] and session["room"] in body["message"]
    row = (await outbox(napi, alarm["id"]))[0]
    assert row["key"] in body["message"]
    await wait_for(lambda: _notified(napi, alarm["id"], "notified"), timeout=5)


def _mails(mail: SmtpServer, room: str) -> list[Any]:
    return [m for m in mail.messages if room in str(m.get_payload())]


async def _notified(api: Api, alarm_id: int, action: str, count: int = 1) -> list[dict[str, Any]]:
    entries = [e for e in await alarm_log(api, alarm_id) if e["action"] == action]
    return entries if len(entries) >= count else []
