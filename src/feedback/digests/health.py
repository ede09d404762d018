"""Are messages getting through? What /health, `feedback scheduler --once` and the admins' alarm report.

    failed    deliveries that failed for good in the last FAILED_WINDOW and were not resent since
    overdue   deliveries queued more than FEEDBACK_DELIVERY_ALARM_S ago and still not done (a channel that
              keeps failing, or no scheduler running)
    retrying  deliveries waiting for another try after an error

/health degrades while any delivery is failed or overdue. The alarm (run by the sweep, every 5 minutes)
tells the admins as soon as a delivery is overdue, or an alert or notice failed for good (a failed digest
has its own notice, outbox.finish_runs), through every admin channel (admin.py: e-mail and the admin
webhook) and the log at ERROR; again every ALARM_REPEAT while it lasts, and at once for a new outage after
a healthy sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.db import transaction
from feedback.digests.admin import notify_admins
from feedback.digests.cooldowns import claim_cooldown
from feedback.models import AlertCooldown, Delivery, DeliveryState

FAILED_WINDOW = timedelta(days=7)
ALARM_SUBJECT = "admin:deliveries"
ALARM_REPEAT = timedelta(hours=24)
SHOWN_ERRORS = 5


@dataclass(frozen=True)
class DeliveryHealth:
    failed: int
    overdue: int
    retrying: int
    oldest_age_s: int | None  # of the oldest failed or overdue delivery, since it was queued
    errors: tuple[str, ...]  # the latest few: "email to x@example.com: SMTP server unreachable: ..."

    @property
    def status(self) -> str:
        return "failing" if self.failed or self.overdue else "ok"

    @property
    def troubled(self) -> bool:
        """Anything failing at all, even a first error being retried (`feedback scheduler --once` exits 1)."""
        return bool(self.failed or self.overdue or self.retrying)

    def headline(self) -> str:
        age = f"; the oldest queued {_duration(self.oldest_age_s)} ago" if self.oldest_age_s else ""
        return (
            f"deliveries: {self.failed} failed, {self.overdue} overdue, {self.retrying} retrying after an "
            f"error{age}"
        )

    def report(self) -> str:
        return "\n".join([self.headline(), *(f"  {error}" for error in self.errors)])


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def _failed(now: datetime) -> Any:
    return and_(Delivery.state == DeliveryState.FAILED, Delivery.failed_at >= now - FAILED_WINDOW)


def _overdue(settings: Settings, now: datetime) -> Any:
    return and_(
        Delivery.state.in_((DeliveryState.PENDING, DeliveryState.SENDING)),
        Delivery.created_at < now - timedelta(seconds=settings.delivery_alarm_s),
    )


def _retrying() -> Any:
    return and_(Delivery.state == DeliveryState.PENDING, Delivery.last_error.is_not(None))


def delivery_health(session: Session, settings: Settings, now: datetime) -> DeliveryHealth:
    """One read of the unsent and failed deliveries (the index on state finds them; sent ones, nearly all,
    are not read), and their latest errors only when there is anything to show: /health is polled."""
    failed, overdue, retrying = _failed(now), _overdue(settings, now), _retrying()
    troubled = or_(failed, overdue)
    counts = session.execute(
        select(
            func.count().filter(failed),
            func.count().filter(overdue),
            func.count().filter(retrying),
            func.min(Delivery.created_at).filter(troubled),
        ).where(Delivery.state.in_((DeliveryState.FAILED, DeliveryState.PENDING, DeliveryState.SENDING)))
    ).one()
    n_failed, n_overdue, n_retrying, oldest = int(counts[0]), int(counts[1]), int(counts[2]), counts[3]
    latest = (
        session.execute(
            select(Delivery.channel, Delivery.recipient, Delivery.last_error, Delivery.attempts)
            .where(or_(troubled, retrying), Delivery.last_error.is_not(None))
            .order_by(Delivery.id.desc())
            .limit(SHOWN_ERRORS)
        ).all()
        if n_failed or n_overdue or n_retrying
        else []
    )
    return DeliveryHealth(
        failed=n_failed,
        overdue=n_overdue,
        retrying=n_retrying,
        oldest_age_s=None if oldest is None else max(0, int((now - oldest).total_seconds())),
        errors=tuple(f"{c} to {r} (tries {n}): {e}" for c, r, e, n in latest),
    )


def _needs_alarm(session: Session, settings: Settings, now: datetime) -> bool:
    failed_notices = and_(_failed(now), Delivery.purpose != "digest")  # digests have their own notice
    condition = or_(_overdue(settings, now), failed_notices)
    return session.scalar(select(Delivery.id).where(condition).limit(1)) is not None


def alarm(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int | None:
    """Tell the admins that deliveries are overdue or failing (at most every ALARM_REPEAT); the notice."""
    with sessions() as session:
        needed = _needs_alarm(session, settings, now)
        health = delivery_health(session, settings, now) if needed else None
    if health is None:
        with transaction(sessions) as session:  # healthy again: the next outage alarms at once
            session.execute(
                update(AlertCooldown)
                .where(AlertCooldown.subject == ALARM_SUBJECT, AlertCooldown.quiet_until.is_not(None))
                .values(quiet_until=None)
                .execution_options(synchronize_session=False)
            )
        return None
    if not claim_cooldown(sessions, ALARM_SUBJECT, now, ALARM_REPEAT):
        return None
    with transaction(sessions) as session:
        notice = notify_admins(
            session,
            settings,
            now,
            subject=ALARM_SUBJECT,
            title=f"[feedback] Messages are not getting through: {health.failed} failed, "
            f"{health.overdue} overdue",
            text=health.report()
            + "\n\nWhat to do: docs/operations.md. In short: fix the channel named above (mail server, "
            "webhook), then `feedback digests resend --failed-since TIME`; retrying ones go out by "
            "themselves. `feedback digests log --deliveries` lists them all.",
        )
        return notice.id
