"""Cooldowns: at most one message about a subject per period, also with two schedulers at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.models import AlertCooldown


def claim_cooldown(sessions: sessionmaker[Session], subject: str, now: datetime, cooldown: timedelta) -> bool:
    """True for the one caller that may speak about ``subject`` now (a conditional UPDATE of its row)."""
    try:
        with transaction(sessions) as session:
            session.add(AlertCooldown(subject=subject, quiet_until=None))
    except IntegrityError:
        pass  # the subject spoke before
    with transaction(sessions) as session:
        moved = session.execute(
            update(AlertCooldown)
            .where(
                AlertCooldown.subject == subject,
                or_(AlertCooldown.quiet_until.is_(None), AlertCooldown.quiet_until <= now),
            )
            .values(quiet_until=now + cooldown)
            .execution_options(synchronize_session=False)
        )
        return getattr(moved, "rowcount", 0) == 1
