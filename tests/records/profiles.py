"""The clinic's profile and the nurse's staff profile, set through the admin API
as a clinic would before its first session (the records name both)."""

from __future__ import annotations

from typing import Any

from tests.support import ADMIN, NURSE, Api

CLINIC = {
    "name": "Harbour Mental Health Clinic",
    "address1": "12 Quay Street",
    "address2": "Suite 4",
    "city": "Portland",
    "state": "ME",
    "zip": "04101",
    "phone": "+1 207 555 0199",
    "vitals_interval_min": 5,
}
NURSE_PROFILE = {
    "given_name": "Sam",
    "family_name": "Patel",
    "credentials": "RN",
    "phone": "+1 207 555 0100",
    "email": "sam.patel@harbour.example",
}


async def clinic_and_staff(api: Api) -> dict[str, Any]:
    """Sets both; returns the nurse's account as the admin API shows it."""
    admin = await api.auth(ADMIN)
    r = await api.http.put("/api/v1/clinic", json=CLINIC, headers=admin)
    assert r.status_code == 200, r.text
    users = (await api.http.get("/api/v1/users", headers=admin)).json()
    nurse = next(u for u in users if u["username"] == NURSE[0])
    r = await api.http.patch(f"/api/v1/users/{nurse['id']}", json=NURSE_PROFILE, headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())
