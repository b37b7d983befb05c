"""What a new staff password must be: long enough, not the user name, not a
commonly used password (the shipped list in data/common-passwords.txt).

Checked wherever a password is set (command line, admin API, own change);
existing passwords are not re-judged at login.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from vitalwatch.errors import Refused

MIN_LENGTH = 10
MAX_LENGTH = 256
_COMMON = Path(__file__).parent / "data" / "common-passwords.txt"


class WeakPassword(Refused):
    """The reason, worded for the person choosing the password (`reason`; the
    API answers "Password refused: <reason>")."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Password refused: {reason}")
        self.reason = reason


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def check_password(password: str, username: str, min_length: int = MIN_LENGTH) -> None:
    """Raise WeakPassword saying why `password` may not be used by `username`."""
    if len(password) < min_length:
        raise WeakPassword(f"use at least {min_length} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"use at most {MAX_LENGTH} characters")
    lowered, name = password.lower(), username.lower()
    if name and (
        lowered in (name, name[::-1]) or len(lowered.replace(name, "")) < min(6, min_length)
    ):
        raise WeakPassword("the password may not be (mostly) the user name")
    if lowered in common_passwords() or lowered.rstrip("0123456789!") in common_passwords():
        raise WeakPassword("this is a commonly used password; choose another")
    if len(set(password)) < 4:
        raise WeakPassword("use more different characters")
