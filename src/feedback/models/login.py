"""Sign-in state kept by the server: login sessions and the failed sign-in counters of the lockout."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from feedback.models.base import Base, UTCDateTime, utcnow


class LoginSession(Base):
    """One signed-in browser. The cookie holds a random id; only its SHA-256 is stored. Deleted to revoke."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginThrottle(Base):
    """A fixed window of sign-in attempts for one key (a SHA-256 of what is limited: account and address)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int]
