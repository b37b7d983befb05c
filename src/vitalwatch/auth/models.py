"""Staff accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from vitalwatch.db import Base, BigIntPK, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # "nurse" | "admin"
    active: Mapped[bool] = mapped_column(default=True)
    #: Signed into every staff token; bumping it (password change, disable,
    #: "sign out everywhere", role change) refuses every token issued before.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The staff profile (admin-edited): who signs a record and how to reach
    #: them, as the REMS form and the report name them.
    given_name: Mapped[str | None] = mapped_column(String(80))
    family_name: Mapped[str | None] = mapped_column(String(80))
    credentials: Mapped[str | None] = mapped_column(String(40))  # "RN", "MD", "NP" ...
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))

    def signature(self) -> str:
        """'Sam Patel, RN' (the user name while the profile has no name)."""
        name = " ".join(n for n in (self.given_name, self.family_name) if n) or self.username
        return f"{name}, {self.credentials}" if self.credentials else name
