"""An overdue BP never blocks readiness by itself (issue 25): it is a question
the sign-off asks, and the nurse's answer is in the report."""

from __future__ import annotations

from tests.support import Api, ServerProcess, dosed_session, observe, readiness


async def test_an_old_bp_does_not_block_and_the_sign_off_asks_about_it(
    api: Api, server: ServerProcess
) -> None:
    # the newest BP is the one 41 min after the dose, about 90 min ago (profile: 20 min)
    _, session, _ = await dosed_session(api, now_bp=None)
    sid, h = session["id"], await api.auth()
    await observe(api, sid, moass=5, dissociation="none")
    r = await readiness(api, sid)
    assert r["ready"] is True and r["stable"] is True and r["reasons"] == []
    assert r["bp_overdue"] is True and r["last_bp_at"] is not None
    ask = await api.http.post(
        f"/api/v1/sessions/{sid}/discharge", json={"left_with": "Partner"}, headers=h
    )
    assert ask.status_code == 409 and "bp_overdue_answer" in ask.json()["detail"]
    assert (await readiness(api, sid))["signed_off_at"] is None  # nothing half stored
    done = await api.http.post(
        f"/api/v1/sessions/{sid}/discharge",
        json={"left_with": "Partner", "bp_overdue_answer": "stable throughout, cuff removed"},
        headers=h,
    )
    assert done.status_code == 200, done.text
    assert done.json()["bp_overdue_answer"] == "stable throughout, cuff removed"
    assert done.json()["override_reason"] is None
    html = (await api.http.get(f"/api/v1/sessions/{sid}/report", headers=h)).text
    assert 'data-testid="rp-bp-answer">stable throughout, cuff removed<' in html
