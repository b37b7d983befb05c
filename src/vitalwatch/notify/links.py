"""Acknowledge links: signed, expiring tokens bound to one notification and one user.

A token is `<payload>.<signature>`, both base64url: the payload names the
outbox row, the alarm, the staff user and the expiry (unix seconds); the
signature is HMAC-SHA256 under a key derived from VITALWATCH_SECRET_KEY (so a
link cannot be turned into a staff token or the reverse). Single use is held
in the database (`notify_outbox.link_used_at`), not in the token. The link
carries the token after `#`, so it never reaches a server log or a proxy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import orjson

from vitalwatch.errors import DomainError, Gone


class LinkInvalid(DomainError, ValueError):
    """The token is malformed or its signature does not match (tampered)."""


class LinkExpired(Gone, ValueError):
    """The token was genuine but its time is over."""


@dataclass(frozen=True, slots=True)
class LinkClaims:
    outbox_id: int
    alarm_id: int
    user_id: int
    expires_at: int


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"vitalwatch notify acknowledge link", "sha256").digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(secret_key: str, claims: LinkClaims) -> str:
    data = {"o": claims.outbox_id, "a": claims.alarm_id, "u": claims.user_id}
    payload = _b64(orjson.dumps({**data, "e": claims.expires_at}))
    signature = hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(signature)}"


def verify(secret_key: str, token: str, now: float) -> LinkClaims:
    """The token's claims; LinkInvalid when it was not made here, LinkExpired when late."""
    payload, _, signature = token.partition(".")
    try:
        given = _unb64(signature)
    except ValueError:
        raise LinkInvalid("This acknowledge link is not valid (damaged or altered)") from None
    expected = hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).digest()
    if not payload or not hmac.compare_digest(given, expected):
        raise LinkInvalid("This acknowledge link is not valid (damaged or altered)")
    try:
        data = orjson.loads(_unb64(payload))
        claims = LinkClaims(int(data["o"]), int(data["a"]), int(data["u"]), int(data["e"]))
    except (ValueError, KeyError, TypeError):
        raise LinkInvalid("This acknowledge link is not valid (damaged or altered)") from None
    if now >= claims.expires_at:
        raise LinkExpired("This acknowledge link has expired; acknowledge at the central station")
    return claims
