"""A staff login for the simulators that outlives its token.

Staff tokens expire (VITALWATCH_TOKEN_TTL_S, a 12-h shift by default), so a
long run, or one started near the end of a token's life, gets a 401 on some
staff call: it logs in again and repeats that call once. Device tokens do
not expire.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import httpx


class LoginFailed(RuntimeError):
    """The user name or password was refused: nothing can go on without them."""


class Staff:
    """Staff calls (devices, sessions, events, alarms) as one nurse or admin."""

    def __init__(self, client: httpx.AsyncClient, user: str, password: str) -> None:
        self.client = client
        self.user = user
        self.password = password
        self.token: str | None = None
        self.logins = 0

    async def login(self) -> str:
        r = await self.client.post(
            "/api/v1/auth/token", data={"username": self.user, "password": self.password}
        )
        if r.status_code != 200:
            raise LoginFailed(f"login as {self.user} failed ({r.status_code}): {r.text[:300]}")
        self.token = str(r.json()["access_token"])
        self.logins += 1
        return self.token

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One staff call; an expired token (401) is renewed and the call sent again."""
        token = self.token or await self.login()
        r = await self.client.request(method, url, headers=_bearer(token), **kwargs)
        if r.status_code == 401:
            r = await self.client.request(
                method, url, headers=_bearer(await self.login()), **kwargs
            )
        return r

    async def end_sessions(self, session_ids: Iterable[int]) -> None:
        """End sessions (already ended ones and a service gone away are let be)."""
        for sid in session_ids:
            with contextlib.suppress(httpx.HTTPError):
                await self.request("POST", f"/api/v1/sessions/{sid}/end")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
