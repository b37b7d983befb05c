"""Readings ingest: idempotency, validation, binding, downsampling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support import Api, ServerProcess, iso, now_utc, raw_request, samples, wait_for


async def count_rows(server: ServerProcess, session_id: int) -> int:
    rows = await server.sql("SELECT count(*) FROM readings WHERE session_id=:s", s=session_id)
    return int(rows[0][0])


async def test_batch_is_acknowledged_and_stored(api: Api, server: ServerProcess) -> None:
    device, session = await api.monitored()
    batch = samples(now_utc() - timedelta(seconds=30), 20, hr=72, spo2=98)
    r = await api.post(device["token"], batch)
    assert r.status_code == 202
    assert r.json() == {"accepted": 20, "duplicates": 0}
    assert await count_rows(server, session["id"]) == 20


async def test_retried_batch_counts_duplicates_and_stores_nothing_twice(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    batch = samples(now_utc() - timedelta(seconds=60), 10, hr=72)
    assert (await api.post(device["token"], batch)).json() == {"accepted": 10, "duplicates": 0}
    assert (await api.post(device["token"], batch)).json() == {"accepted": 0, "duplicates": 10}
    overlap = batch[5:] + samples(now_utc() - timedelta(seconds=50), 5, seq0=10, hr=73)
    assert (await api.post(device["token"], overlap)).json() == {"accepted": 5, "duplicates": 5}
    same_seq_twice = samples(now_utc(), 1, seq0=100, hr=70) * 2
    assert (await api.post(device["token"], same_seq_twice)).json() == {
        "accepted": 1,
        "duplicates": 1,
    }
    assert await count_rows(server, session["id"]) == 16


@pytest.mark.parametrize(
    ("sample", "field"),
    [
        ({"hr": 350}, "hr"),
        ({"spo2": 101}, "spo2"),
        ({"spo2": 20}, "spo2"),
        ({"sbp": 80, "dbp": 90}, "sbp"),
        ({"rr": -1}, "rr"),
        ({"hr": "fast"}, "hr"),
        ({"hr": 70, "temp": 37}, "temp"),
        ({}, "samples"),
    ],
)
async def test_implausible_sample_rejects_the_whole_request(
    api: Api, server: ServerProcess, sample: dict[str, Any], field: str
) -> None:
    device, session = await api.monitored()
    good = samples(now_utc() - timedelta(seconds=10), 3, hr=70)
    bad = {"ts": iso(now_utc()), "seq": 3, **sample}
    r = await api.post(device["token"], [*good, bad])
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"][:3] == ["body", "samples", 3]
    assert detail[0]["loc"][-1] == field
    assert await count_rows(server, session["id"]) == 0


async def test_future_timestamp_and_missing_seq_are_422(api: Api) -> None:
    device, _ = await api.monitored()
    r = await api.post(
        device["token"], [{"ts": iso(now_utc() + timedelta(hours=1)), "seq": 1, "hr": 70}]
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "samples", 0, "ts"]
    r = await api.post(device["token"], [{"ts": iso(now_utc()), "hr": 70}])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "samples", 0, "seq"]
    r = await api.post(device["token"], [{"ts": "2026-11-23T10:00:00", "seq": 1, "hr": 70}])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "samples", 0, "ts"]
    r = await api.http.post(
        "/api/v1/readings",
        content=b"{not json",
        headers={"Authorization": f"Bearer {device['token']}", "Content-Type": "application/json"},
    )
    assert r.status_code == 422


async def test_receive_time_used_when_ts_left_out(api: Api) -> None:
    device, session = await api.monitored()
    before = now_utc()
    assert (await api.post(device["token"], [{"seq": 1, "hr": 66}])).status_code == 202
    got = (await api.http.get(f"/api/v1/sessions/{session['id']}", headers=await api.auth())).json()
    from datetime import datetime

    ts = datetime.fromisoformat(got["latest"]["hr"]["ts"])
    assert abs((ts - before).total_seconds()) < 5


async def test_unbound_device_gets_409_and_nothing_is_stored(
    api: Api, server: ServerProcess
) -> None:
    device = await api.device()
    r = await api.post(device["token"], samples(now_utc(), 3, hr=70))
    assert r.status_code == 409
    assert "not bound" in r.json()["detail"]
    _, session = await api.monitored()
    sid = session["id"]
    await api.http.post(f"/api/v1/sessions/{sid}/end", headers=await api.auth())
    dev_of_ended = session["device_ids"][0]
    assert dev_of_ended
    rows = await server.sql("SELECT count(*) FROM readings WHERE device_id=:d", d=device["id"])
    assert rows[0][0] == 0


async def test_bad_device_token_is_401(api: Api) -> None:
    r = await api.post("vwd_not-a-real-token", samples(now_utc(), 1, hr=70))
    assert r.status_code == 401
    r = await api.http.post("/api/v1/readings", json={"samples": []})
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated: send Authorization: Bearer <device token>"}
    assert r.headers["www-authenticate"] == "Bearer"
    r = await api.http.post(
        "/api/v1/readings", json={"samples": []}, headers={"Authorization": "Basic abc"}
    )
    assert r.status_code == 401


async def test_readings_route_answers_like_every_other_route(
    api: Api, server: ServerProcess
) -> None:
    """It is served ahead of FastAPI's routing: method, size and schema still hold."""
    r = await api.http.get("/api/v1/readings")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    device, session = await api.monitored()
    # 17 MiB announced: the 413 comes before the body is sent (and the connection
    # closes, so the rest is never read)
    head = (
        f"POST /api/v1/readings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {device['token']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {17 * 1024 * 1024}"
    ).encode()
    status, headers, body, _ = await raw_request(server, head, b'{"samples": [')
    assert status == 413 and b"10,000 samples" in body and headers["connection"] == "close"
    r = await api.http.post(
        "/api/v1/readings",
        content=b'{"samples": [{"seq": 1, "hr": 70}',
        headers={"Authorization": f"Bearer {device['token']}"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    assert await count_rows(server, session["id"]) == 0
    operation = (await api.http.get("/openapi.json")).json()["paths"]["/api/v1/readings"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReadingsBatch"
    }
    assert set(operation["responses"]) >= {"202", "401", "409", "413", "422", "503"}


async def test_device_posts_only_to_its_own_session(api: Api) -> None:
    dev_a, sess_a = await api.monitored()
    dev_b, sess_b = await api.monitored()
    await api.post(dev_a["token"], samples(now_utc() - timedelta(seconds=5), 3, hr=61))
    await api.post(dev_b["token"], samples(now_utc() - timedelta(seconds=5), 3, hr=99))
    a = (await api.http.get(f"/api/v1/sessions/{sess_a['id']}", headers=await api.auth())).json()
    b = (await api.http.get(f"/api/v1/sessions/{sess_b['id']}", headers=await api.auth())).json()
    assert a["latest"]["hr"]["value"] == 61 and b["latest"]["hr"]["value"] == 99


async def test_downsampling_keeps_the_extremes(api: Api) -> None:
    device, session = await api.monitored()
    start = now_utc() - timedelta(hours=1)
    batch = samples(start, 3000, spo2=97)
    batch[1234]["spo2"] = 81  # a short desaturation must survive downsampling
    batch[2500]["spo2"] = 100
    for i in range(0, 3000, 1000):
        assert (await api.post(device["token"], batch[i : i + 1000])).status_code == 202
    url = f"/api/v1/sessions/{session['id']}/readings"
    full = (await api.http.get(url, params={"metric": "spo2"}, headers=await api.auth())).json()
    assert len(full["values"]) == 3000
    small = (
        await api.http.get(
            url, params={"metric": "spo2", "max_points": 100}, headers=await api.auth()
        )
    ).json()
    assert 2 <= len(small["values"]) <= 100
    assert min(small["values"]) == 81 and max(small["values"]) == 100
    assert small["ts"] == sorted(small["ts"])
    window = (
        await api.http.get(
            url,
            params={
                "metric": "spo2",
                "since": iso(start + timedelta(seconds=1000)),
                "until": iso(start + timedelta(seconds=1999)),
            },
            headers=await api.auth(),
        )
    ).json()
    assert len(window["values"]) == 1000
    bad = await api.http.get(url, params={"metric": "temp"}, headers=await api.auth())
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "metric"]


async def test_last_seen_of_every_posting_device_reaches_the_database(
    api: Api, server: ServerProcess
) -> None:
    pairs = [await api.monitored() for _ in range(3)]
    before = now_utc()
    for device, _ in pairs:
        r = await api.post(device["token"], samples(before - timedelta(seconds=5), 1, hr=70))
        assert r.status_code == 202
    ids = [device["id"] for device, _ in pairs]

    async def flushed() -> bool:
        rows = await server.sql("SELECT id, last_seen FROM devices WHERE last_seen IS NOT NULL")
        return {r[0] for r in rows} >= set(ids)

    await wait_for(flushed, timeout=12, interval=0.5)  # flushed in bulk every 5 s


async def test_a_remeasurement_with_a_stored_seq_and_time_is_refused_whole(
    api: Api, server: ServerProcess
) -> None:
    """A duplicate is the same device, seq, time *and values*: HR 80 sent with
    the seq and time of a stored HR 150 is no retry. One row per seq and time
    is kept, so the request is a 409 naming the sample and the stored values,
    and nothing of it is stored (never `accepted: 0, duplicates: 1`)."""
    device, session = await api.monitored()
    at = now_utc() - timedelta(seconds=30)
    stored = {"ts": iso(at), "seq": 17, "hr": 150, "spo2": 97}
    assert (await api.post(device["token"], [stored])).json() == {"accepted": 1, "duplicates": 0}
    fresh = samples(at + timedelta(seconds=1), 2, seq0=18, hr=81)
    r = await api.post(device["token"], [fresh[0], {**stored, "hr": 80}, fresh[1]])
    assert r.status_code == 409, r.text
    [error] = r.json()["detail"]
    assert error["type"] == "conflict" and error["loc"] == ["body", "samples", 1]
    assert error["seq"] == 17 and error["stored"] == {"hr": 150, "spo2": 97}
    assert "stored with hr 150, spo2 97; this sample has hr 80, spo2 97" in error["msg"]
    assert "nothing of this request was stored" in error["msg"]
    rows = await server.sql(
        "SELECT seq, hr FROM readings WHERE session_id=:s ORDER BY seq", s=session["id"]
    )
    assert [tuple(row) for row in rows] == [(17, 150)]
    # a value left out is a value that differs, too
    r = await api.post(device["token"], [{"ts": iso(at), "seq": 17, "hr": 150}])
    assert r.status_code == 409 and r.json()["detail"][0]["stored"] == {"hr": 150, "spo2": 97}
    # the true retry stays idempotent, and the fresh samples go in once resent alone
    assert (await api.post(device["token"], [stored, *fresh])).json() == {
        "accepted": 2,
        "duplicates": 1,
    }
    assert await count_rows(server, session["id"]) == 3


async def test_one_request_that_repeats_a_seq_and_time_with_other_values_is_refused(
    api: Api, server: ServerProcess
) -> None:
    device, session = await api.monitored()
    at = iso(now_utc() - timedelta(seconds=5))
    r = await api.post(
        device["token"], [{"ts": at, "seq": 3, "hr": 70}, {"ts": at, "seq": 3, "hr": 71}]
    )
    assert r.status_code == 409, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "samples", 1] and error["stored"] == {"hr": 70}
    assert await count_rows(server, session["id"]) == 0
