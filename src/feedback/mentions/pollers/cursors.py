"""Where each poller stopped (FeedCursor), claimed by one poll at a time, with rate limits and backoff.

A poll claims its cursor by moving ``next_poll_after`` a lease ahead in one conditional UPDATE, so two
polls of the same feed at once (two schedulers, a manual run beside the scheduled one) cannot both run
it: the second sees the lease and skips. The lease also expires on its own if a poll dies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.models import FeedCursor

FEED_CURSORS = cast(Table, FeedCursor.__table__)

LEASE = timedelta(minutes=10)
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)


@dataclass(frozen=True)
class Claim:
    """A poll's right to run one feed now, and the position it resumes from."""

    key: str
    cursor: str | None
    failures: int


@dataclass(frozen=True)
class Busy:
    """Not polled now: rate limited, backing off after errors, or polled by another run."""

    until: datetime | None
    last_error: str | None


def claim(factory: sessionmaker[Session], kind: str, key: str, now: datetime) -> Claim | Busy:
    with transaction(factory) as session:
        insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
        session.execute(
            insert(FEED_CURSORS)
            .values(kind=kind, key=key, failures=0)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        taken = session.execute(
            update(FeedCursor)
            .where(
                FeedCursor.key == key,
                or_(FeedCursor.next_poll_after.is_(None), FeedCursor.next_poll_after <= now),
            )
            .values(next_poll_after=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        row = session.execute(
            select(
                FeedCursor.cursor, FeedCursor.failures, FeedCursor.next_poll_after, FeedCursor.last_error
            ).where(FeedCursor.key == key)
        ).one()
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return Busy(row.next_poll_after, row.last_error)
        return Claim(key, row.cursor, row.failures)


def advance(session: Session, key: str, cursor: str | None) -> None:
    """Record the new position, in the same transaction as the mentions read up to it."""
    session.execute(
        update(FeedCursor)
        .where(FeedCursor.key == key)
        .values(cursor=cursor)
        .execution_options(synchronize_session=False)
    )


def backoff(failures: int) -> timedelta:
    """1 min, 2, 4, ... after consecutive failures, at most 6 h."""
    return min(BACKOFF_FIRST * (1 << min(max(failures - 1, 0), 20)), BACKOFF_MAX)


def finish(
    factory: sessionmaker[Session],
    claim: Claim,
    now: datetime,
    *,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Release the claim: success clears errors; an error counts a failure and backs off (or waits for
    ``retry_at``, a rate limit's reset time)."""
    failures = claim.failures + 1 if error and retry_at is None else (claim.failures if error else 0)
    if error and retry_at is None:
        retry_at = now + backoff(failures)
    with transaction(factory) as session:
        session.execute(
            update(FeedCursor)
            .where(FeedCursor.key == claim.key)
            .values(last_polled_at=now, next_poll_after=retry_at, last_error=error, failures=failures)
            .execution_options(synchronize_session=False)
        )
