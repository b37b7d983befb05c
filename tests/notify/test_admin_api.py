"""The admin API of secondary notification: who may call it, clear 4xx for
bad input with nothing stored, the test button, the chain and deletion."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.notify.peers import Receiver, add_target, escalate, set_chain
from tests.support import ADMIN, NURSE, Api

TARGETS = "/api/v1/notify/targets"


async def test_only_admins_configure(napi: Api) -> None:
    assert (await napi.http.get(TARGETS)).status_code == 401
    r = await napi.http.get(TARGETS, headers=await napi.auth(NURSE))
    assert r.status_code == 403
    r = await napi.http.put(
        "/api/v1/notify/chain", json={"steps": []}, headers=await napi.auth(NURSE)
    )
    assert r.status_code == 403
    # nurses may see what was sent
    r = await napi.http.get("/api/v1/notify/outbox", headers=await napi.auth(NURSE))
    assert r.status_code == 200


async def test_bad_targets_are_refused_and_nothing_stored(napi: Api) -> None:
    admin = await napi.auth(ADMIN)
    before = (await napi.http.get(TARGETS, headers=admin)).json()
    cases = [
        ({"name": "x", "kind": "webhook", "address": "ftp://example.org/x"}, "http"),
        ({"name": "x", "kind": "ntfy", "address": "not a url"}, "http"),
        ({"name": "x", "kind": "email", "address": "nobody"}, "e-mail address"),
        ({"name": "x", "kind": "apprise", "address": "nosuchservice://x"}, "apprise"),
        ({"name": "x", "kind": "webhook", "address": "http://h/x", "secret": "short-secret"}, "32"),
        ({"name": "x", "kind": "email", "address": "a@b.org", "secret": "12345678"}, "no secret"),
        ({"name": "x", "kind": "pager", "address": "http://h/x"}, "kind"),
        ({"name": "x", "kind": "webhook", "address": "http://h/x", "colour": "red"}, "colour"),
        ({"name": "", "kind": "webhook", "address": "http://h/x"}, "name"),
    ]
    for body, words in cases:
        r = await napi.http.post(TARGETS, json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
        assert words in r.text, (body, r.text)
    r = await napi.http.post(
        TARGETS,
        json={"name": "x", "kind": "webhook", "address": "http://h/x", "user": "ghost"},
        headers=admin,
    )
    assert r.status_code == 422 and "ghost" in r.json()["detail"]
    assert (await napi.http.get(TARGETS, headers=admin)).json() == before


async def test_names_are_unique_and_patches_checked_as_a_whole(napi: Api) -> None:
    admin = await napi.auth(ADMIN)
    t = await add_target(napi, name="Unique one", kind="webhook", address="http://127.0.0.1:9/x")
    r = await napi.http.post(
        TARGETS, json={"name": "Unique one", "kind": "email", "address": "a@b.org"}, headers=admin
    )
    assert r.status_code == 409
    r = await napi.http.patch(f"{TARGETS}/{t['id']}", json={"kind": "email"}, headers=admin)
    assert r.status_code == 422 and "e-mail address" in r.text  # the address is still a URL
    r = await napi.http.patch(
        f"{TARGETS}/{t['id']}", json={"enabled": False, "user": NURSE[0]}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False and r.json()["user"] == NURSE[0]
    assert r.json()["secret"] is None  # unchanged: not shown again
    listed = {x["id"]: x for x in (await napi.http.get(TARGETS, headers=admin)).json()}
    assert listed[t["id"]]["kind"] == "webhook" and "secret" not in listed[t["id"]]
    r = await napi.http.patch(f"{TARGETS}/999999", json={"enabled": True}, headers=admin)
    assert r.status_code == 404


async def test_chain_validation(napi: Api) -> None:
    admin = await napi.auth(ADMIN)
    t = await add_target(napi, name="Chain member", kind="email", address="c@clinic.test")
    for steps, status in (
        ([{"target_id": 999999, "delay_s": 0}], 404),
        ([{"target_id": t["id"], "delay_s": 0}, {"target_id": t["id"], "delay_s": 5}], 422),
        ([{"target_id": t["id"], "delay_s": 3601}], 422),
        ([{"target_id": t["id"], "delay_s": -1}], 422),
    ):
        r = await napi.http.put("/api/v1/notify/chain", json={"steps": steps}, headers=admin)
        assert r.status_code == status, (steps, r.text)
    chain = await set_chain(napi, (t["id"], 30))
    assert chain == [
        {
            "position": 1,
            "target_id": t["id"],
            "target_name": "Chain member",
            "target_enabled": True,
            "delay_s": 30,
        }
    ]
    assert (await napi.http.get("/api/v1/notify/chain", headers=admin)).json() == chain


async def test_send_test_notification(
    napi: Api, receivers: Callable[..., Awaitable[Receiver]]
) -> None:
    admin = await napi.auth(ADMIN)
    up = await receivers(secret="w" * 40)
    t = await add_target(napi, name="Test me", kind="webhook", address=up.url, secret=up.secret)
    r = await napi.http.post(f"{TARGETS}/{t['id']}/test", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["outcome"] == "HTTP 200"
    got = up.accepted()
    assert len(got) == 1 and got[0].json()["type"] == "vitalwatch.test"
    assert got[0].key == r.json()["key"] and "No patient" in got[0].json()["text"]

    down = await receivers(start=False, secret="w" * 40)
    d = await add_target(
        napi, name="Test down", kind="webhook", address=down.url, secret=down.secret
    )
    r = await napi.http.post(f"{TARGETS}/{d['id']}/test", headers=admin)
    assert r.status_code == 200
    assert r.json()["ok"] is False and "cannot reach" in r.json()["outcome"]

    # The tests' servers may reach loopback only (VITALWATCH_NOTIFY_ALLOWED_HOSTS).
    far = await add_target(
        napi, name="Elsewhere", kind="webhook", address="http://pager.example.invalid/x"
    )
    r = await napi.http.post(f"{TARGETS}/{far['id']}/test", headers=admin)
    assert r.json()["ok"] is False and "host not allowed" in r.json()["outcome"]

    wrong = await receivers(secret="z" * 40)  # the receiver expects another key
    w = await add_target(
        napi, name="Test wrong key", kind="webhook", address=wrong.url, secret="y" * 40
    )
    r = await napi.http.post(f"{TARGETS}/{w['id']}/test", headers=admin)
    assert r.json() == {"ok": False, "outcome": "HTTP 401", "key": r.json()["key"]}
    assert wrong.got[0].verdict == "bad signature"


async def test_delete(napi: Api, receivers: Callable[..., Awaitable[Receiver]]) -> None:
    admin = await napi.auth(ADMIN)
    unused = await add_target(napi, name="Never used", kind="email", address="n@clinic.test")
    await set_chain(napi, (unused["id"], 0))
    r = await napi.http.delete(f"{TARGETS}/{unused['id']}", headers=admin)
    assert r.status_code == 204
    assert (await napi.http.get("/api/v1/notify/chain", headers=admin)).json() == []
    assert (await napi.http.delete(f"{TARGETS}/{unused['id']}", headers=admin)).status_code == 404

    used_receiver = await receivers(secret="k" * 40)
    used = await add_target(
        napi, name="Used", kind="webhook", address=used_receiver.url, secret=used_receiver.secret
    )
    await set_chain(napi, (used["id"], 0))
    await escalate(napi)
    r = await napi.http.delete(f"{TARGETS}/{used['id']}", headers=admin)
    assert r.status_code == 409 and "disable it instead" in r.json()["detail"]
