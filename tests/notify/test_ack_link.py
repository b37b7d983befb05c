"""The phone's acknowledge link: signed, single use, expiring, acting as the
target's staff user through the same path as POST /api/v1/alarms/{id}/ack;
opening the link (GET, as a mail scanner would) acknowledges nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.notify.peers import (
    FAST_RETRIES,
    Receiver,
    add_target,
    alarm_log,
    escalate,
    just,
    set_chain,
)
from tests.support import NURSE, Api, ServerProcess, wait_for


async def _link(receiver: Receiver) -> tuple[str, dict[str, Any]]:
    await wait_for(lambda: just(receiver.accepted()), timeout=5)
    body = receiver.accepted()[-1].json()
    return str(body["links"]["acknowledge"]), body


async def _alarm(api: Api, alarm_id: int, session_id: int) -> dict[str, Any]:
    r = await api.http.get(
        "/api/v1/alarms", params={"session_id": session_id}, headers=await api.auth()
    )
    return dict(next(a for a in r.json() if a["id"] == alarm_id))


async def _phone(api: Api, receivers: Callable[..., Awaitable[Receiver]], name: str) -> Receiver:
    """A webhook receiver as the phone of the nurse, the chain's only step (at 0 s)."""
    phone = await receivers(secret=name[0] * 40)
    t = await add_target(
        api, name=name, kind="webhook", address=phone.url, secret=phone.secret, user=NURSE[0]
    )
    await set_chain(api, (t["id"], 0))
    return phone


async def test_link_acknowledges_once_as_the_targets_user(
    napi: Api, notify_server: ServerProcess, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    phone = await _phone(napi, receivers, "Nurse phone")
    session, alarm, _ = await escalate(napi)
    link, body = await _link(phone)
    assert link.startswith(notify_server.url + "/ack#")
    assert body["links"]["acknowledge_as"] == NURSE[0]
    assert f"Acknowledge (as {NURSE[0]}): {link}" in body["text"]
    token = link.split("#", 1)[1]

    # Opening the link (what a mail scanner's prefetch does) changes nothing.
    page = await napi.http.get(link.split("#", 1)[0])
    assert page.status_code == 200 and "Acknowledge" in page.text
    assert (await _alarm(napi, alarm["id"], session["id"]))["state"] == "active"
    r = await napi.http.post("/api/v1/notify/ack/preview", json={"token": token})
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["alarm"]["id"] == alarm["id"] and preview["alarm"]["room"] == session["room"]
    assert preview["acknowledge_as"] == NURSE[0] and preview["used"] is False
    assert (await _alarm(napi, alarm["id"], session["id"]))["state"] == "active"

    r = await napi.http.post("/api/v1/notify/ack", json={"token": token})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["acknowledged_as"] == NURSE[0] and done["already_acknowledged"] is False
    assert done["alarm"]["state"] == "acknowledged" and done["alarm"]["acked_by"] == NURSE[0]
    now = await _alarm(napi, alarm["id"], session["id"])
    assert now["state"] == "acknowledged" and now["acked_by"] == NURSE[0]
    acks = [e for e in await alarm_log(napi, alarm["id"]) if e["action"] == "acknowledged"]
    assert [e["user"] for e in acks] == [NURSE[0]]

    again = await napi.http.post("/api/v1/notify/ack", json={"token": token})
    assert again.status_code == 410 and "used already" in again.json()["detail"]
    r = await napi.http.post("/api/v1/notify/ack/preview", json={"token": token})
    assert r.json()["used"] is True


async def test_tampered_links_are_refused(
    napi: Api, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    phone = await _phone(napi, receivers, "Phone 2")
    session, alarm, _ = await escalate(napi)
    link, _ = await _link(phone)
    token = link.split("#", 1)[1]
    payload, signature = token.split(".")
    flipped = "A" if payload[5] != "A" else "B"
    for bad in (
        payload[:5] + flipped + payload[6:] + "." + signature,  # another outbox/alarm/user
        payload + "." + signature[:-2] + ("xy" if signature[-2:] != "xy" else "zz"),
        "not-a-token-at-all",
        payload + ".",
    ):
        for path in ("/api/v1/notify/ack", "/api/v1/notify/ack/preview"):
            r = await napi.http.post(path, json={"token": bad})
            assert r.status_code == 400, (bad, r.text)
            assert "not valid" in r.json()["detail"]
    r = await napi.http.post("/api/v1/notify/ack", json={"token": "short"})
    assert r.status_code == 422
    assert (await _alarm(napi, alarm["id"], session["id"]))["state"] == "active"


async def test_expired_link_is_refused(
    new_server: Callable[..., ServerProcess], receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    server = new_server(VITALWATCH_NOTIFY_LINK_TTL_S="2", **FAST_RETRIES)
    server.start()
    api = Api(server.url)
    try:
        phone = await _phone(api, receivers, "Phone 3")
        session, alarm, _ = await escalate(api)
        link, _ = await _link(phone)
        await asyncio.sleep(2.5)
        r = await api.http.post("/api/v1/notify/ack", json={"token": link.split("#", 1)[1]})
        assert r.status_code == 410 and "expired" in r.json()["detail"]
        assert (await _alarm(api, alarm["id"], session["id"]))["state"] == "active"
    finally:
        await api.aclose()


async def test_ack_page_is_served_without_login(notify_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=notify_server.url) as http:
        r = await http.get("/ack")
        assert r.status_code == 200 and "secondary" in r.text.lower()
        assert (await http.get("/static/js/ack.js")).status_code == 200
