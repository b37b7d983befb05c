"""Which staff token holds which live sockets: a cap per token, and a nudge to
re-check a user's sockets the moment that user's account changes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from vitalwatch.auth.security import TokenClaims


@dataclass(eq=False)
class LiveSocket:
    claims: TokenClaims
    #: Set when the user's account changed: the socket re-checks its token now.
    recheck: asyncio.Event = field(default_factory=asyncio.Event)


class SocketRegistry:
    def __init__(self, max_per_token: int) -> None:
        self._max_per_token = max_per_token
        self._by_token: dict[str, set[LiveSocket]] = {}
        self._by_user: dict[int, set[LiveSocket]] = {}

    @staticmethod
    def _key(claims: TokenClaims) -> str:
        return claims.token_id or f"user:{claims.user_id}:{claims.expires_at}"

    def add(self, claims: TokenClaims) -> LiveSocket | None:
        """A new socket for this token, or None when the token has its fill."""
        mine = self._by_token.setdefault(self._key(claims), set())
        if len(mine) >= self._max_per_token:
            return None
        socket = LiveSocket(claims)
        mine.add(socket)
        self._by_user.setdefault(claims.user_id, set()).add(socket)
        return socket

    def remove(self, socket: LiveSocket) -> None:
        key = self._key(socket.claims)
        by_token = self._by_token.get(key, set())
        by_token.discard(socket)
        if not by_token:
            self._by_token.pop(key, None)
        by_user = self._by_user.get(socket.claims.user_id, set())
        by_user.discard(socket)
        if not by_user:
            self._by_user.pop(socket.claims.user_id, None)

    def user_changed(self, user_id: int) -> None:
        for socket in self._by_user.get(user_id, ()):
            socket.recheck.set()

    def count(self) -> int:
        return sum(len(s) for s in self._by_user.values())
