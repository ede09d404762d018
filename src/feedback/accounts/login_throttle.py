"""The sign-in lockout: attempts counted in the database, shared by every web worker, in one atomic step.

Two fixed windows, each a row of ``login_throttle`` keyed by a SHA-256 of what it limits:

- an account *from one client address* (FEEDBACK_LOGIN_FAILURES_ACCOUNT, 5 per 15 minutes): someone
  guessing a password elsewhere cannot lock the real user out of their account from their own address
  (the lockout is no denial of service); a person guessing from one address gets 5 tries;
- one client address, whatever the accounts (FEEDBACK_LOGIN_FAILURES_IP, 20 per 15 minutes): guessing
  many accounts, or one account with many e-mail spellings, from one address stops there.

An attempt is counted *before* its password is checked, by one ``INSERT .. ON CONFLICT DO UPDATE ..
RETURNING`` per window that increments and returns the count (a new window when the old one ended): a burst
of concurrent requests cannot all read "4 so far" and all be evaluated. Only the attempts within the limit
are evaluated; a successful sign-in gives its attempt back (the account window ends, the address window
forgets one). Workers on several machines need synchronised clocks, as the digest leases do.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from feedback.config import Rate, Settings
from feedback.models import LoginThrottle, utcnow


def _key(kind: str, *parts: str) -> str:
    return hashlib.sha256("\0".join((kind, *parts)).encode()).hexdigest()


def _windows(settings: Settings, email: str, address: str) -> list[tuple[str, Rate]]:
    account = email.strip().lower()
    return [
        (_key("account", account, address), settings.login_failures_account),
        (_key("address", address), settings.login_failures_ip),
    ]


def _count(session: Session, key: str, rate: Rate, now: datetime) -> float:
    """Count one attempt in the key's window; the seconds until it ends if that went over the limit."""
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    fresh = insert(LoginThrottle).values(
        key=key, window_end=now + timedelta(seconds=rate.seconds), attempts=1
    )
    ended = LoginThrottle.window_end <= now
    statement = fresh.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={
            "attempts": case((ended, 1), else_=LoginThrottle.attempts + 1),
            "window_end": case((ended, fresh.excluded.window_end), else_=LoginThrottle.window_end),
        },
    ).returning(LoginThrottle.attempts, LoginThrottle.window_end)
    attempts, window_end = session.execute(statement).one()
    return (window_end - now).total_seconds() if attempts > rate.count else 0.0


def claim_attempt(session: Session, settings: Settings, email: str, address: str) -> int:
    """Count a sign-in attempt; 0 if it may be evaluated, else the seconds to wait (it is not).

    Commit right after, before checking the password, so that concurrent attempts see the count.
    """
    now = utcnow()
    wait = max(
        (_count(session, key, rate, now) for key, rate in _windows(settings, email, address) if rate.count),
        default=0.0,
    )
    return max(1, math.ceil(wait)) if wait else 0


def attempt_succeeded(session: Session, settings: Settings, email: str, address: str) -> None:
    """The right password: the account's window ends, the address's forgets this attempt; old rows go."""
    (account, _), (per_address, _) = _windows(settings, email, address)
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account))
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == per_address, LoginThrottle.attempts > 0)
        .values(attempts=LoginThrottle.attempts - 1)
    )
    session.execute(delete(LoginThrottle).where(LoginThrottle.window_end <= utcnow()))
