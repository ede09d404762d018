"""Login sessions kept by the server, so that signing out, disabling a user or changing a password ends them.

The browser's cookie holds a random id (256 bits); the table holds only its SHA-256, the user, when the
session ends (SESSION_HOURS after sign-in, however active it is) and when it was last used. Revoking deletes
the row: a copy of the cookie taken before is worth nothing afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from feedback.models import LoginSession, utcnow

SESSION_HOURS = 12
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user_id: int, hours: int = SESSION_HOURS) -> str:
    """A new session for the user; returns the id for the cookie (stored only as a hash)."""
    now = utcnow()
    session.execute(
        delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_hash(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            last_seen_at=now,
        )
    )
    return token


def session_user(session: Session, token: str) -> int | None:
    """The user signed in with this cookie id, or None (unknown, revoked or expired)."""
    found = session.scalar(select(LoginSession).where(LoginSession.token_hash == _hash(token)))
    now = utcnow()
    if found is None or found.expires_at <= now:
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
    return found.user_id


def end_session(session: Session, token: str) -> None:
    """Sign out: the cookie id stops working."""
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _hash(token)))


def end_user_sessions(session: Session, user_id: int) -> int:
    """Sign the user out everywhere (disabled, password changed); returns how many sessions ended."""
    result = session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)
