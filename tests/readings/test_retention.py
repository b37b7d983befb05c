"""Retention: readings of sessions ended long ago are deleted; the rest stay."""

from __future__ import annotations

from datetime import timedelta

from tests.support import Api, ServerProcess, now_utc, samples


async def test_prune_readings_deletes_only_old_ended_sessions(
    api: Api, server: ServerProcess
) -> None:
    (old_dev, old), (recent_dev, recent), (active_dev, active) = [
        await api.monitored() for _ in range(3)
    ]
    t0 = now_utc() - timedelta(minutes=5)
    for device in (old_dev, recent_dev, active_dev):
        r = await api.post(device["token"], samples(t0, 30, hr=72, spo2=97))
        assert r.status_code == 202
    for session in (old, recent):
        r = await api.http.post(f"/api/v1/sessions/{session['id']}/end", headers=await api.auth())
        assert r.status_code == 200, r.text
    await server.sql(
        "UPDATE sessions SET ended_at = :t WHERE id = :s",
        t=now_utc() - timedelta(days=40),
        s=old["id"],
    )
    result = server.cli("db", "prune-readings", "--days", "30")
    assert "deleted 30 readings" in result.stdout
    counts = {
        sid: (await server.sql("SELECT count(*) FROM readings WHERE session_id=:s", s=sid))[0][0]
        for sid in (old["id"], recent["id"], active["id"])
    }
    assert counts == {old["id"]: 0, recent["id"]: 30, active["id"]: 30}
    # the session record and its audit trail stay
    r = await api.http.get(f"/api/v1/sessions/{old['id']}", headers=await api.auth())
    assert r.status_code == 200 and r.json()["status"] == "ended"
