"""New passwords follow the policy; secret keys need entropy, not only length."""

from __future__ import annotations

import secrets

import pytest
from pydantic import ValidationError

from tests.support import ADMIN, Api, ServerProcess
from vitalwatch.auth.policy import WeakPassword, check_password, common_passwords
from vitalwatch.config import Settings


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("12345678", "at least 10"),
        ("1234567890", "commonly used"),
        ("Password123", "commonly used"),
        ("qwertyuiop", "commonly used"),
        ("welcome2026!", "commonly used"),
        ("aaaaaaaaaaaa", "different characters"),
        ("maria.lopez", "user name"),
        ("zepol.airam", "user name"),
        ("maria.lopez12", "user name"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, why: str) -> None:
    with pytest.raises(WeakPassword, match=why):
        check_password(password, "maria.lopez")


def test_good_passwords_pass() -> None:
    for password in ("admin-password-1", "Correct-horse-battery", secrets.token_urlsafe(12)):
        check_password(password, "admin")
    assert len(common_passwords()) > 300 and "password" in common_passwords()


def test_a_repetitive_secret_key_is_refused_outside_development() -> None:
    for key in ("a" * 32, "ab" * 32, "abcd" * 10):
        with pytest.raises(ValidationError, match="entropy"):
            Settings(environment="production", secret_key=key)
    Settings(environment="production", secret_key=secrets.token_urlsafe(32))
    Settings(environment="production", secret_key=secrets.token_hex(32))
    Settings(environment="development", secret_key="a" * 32)  # development may


async def test_the_api_and_the_command_line_refuse_weak_passwords(
    api: Api, server: ServerProcess
) -> None:
    r = await api.http.post(
        "/api/v1/users",
        json={"username": "weakling", "role": "nurse", "password": "12345678"},
        headers=await api.auth(ADMIN),
    )
    assert r.status_code == 422 and "at least 10" in r.text
    done = server.cli("users", "create", "weakling", "--password", "password123", check=False)
    assert done.returncode != 0 and "commonly used" in done.stderr
    users = await server.sql("SELECT username FROM users WHERE username = 'weakling'")
    assert users == []
