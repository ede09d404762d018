"""Telling the admins that something did not go out: a log line at ERROR (always), an ``alerts`` row of kind
admin, and a message through the outbox (retried like any other) to FEEDBACK_ADMIN_EMAILS and, when set, to
the admin webhook (FEEDBACK_ADMIN_WEBHOOK_URL, signed with FEEDBACK_ADMIN_WEBHOOK_SECRET): a second path, so
that a failing mail server cannot silence the alarm about itself.

A run records ``admin_alerted_at`` only once a notice about it has arrived somewhere (outbox.py), never
when it was merely queued.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from feedback.config import Settings
from feedback.digests.recipients import Target, enqueue
from feedback.models import Alert, DigestRun

log = logging.getLogger(__name__)

ADMIN_WEBHOOK_URL_ENV = "FEEDBACK_ADMIN_WEBHOOK_URL"
ADMIN_WEBHOOK_SECRET_ENV = "FEEDBACK_ADMIN_WEBHOOK_SECRET"  # noqa: S105 (a variable's name)


def admin_targets(settings: Settings) -> list[Target]:
    targets = [Target("email", address) for address in settings.admin_emails]
    if settings.admin_webhook_url:  # the URL is read from the environment when sent: it is a secret too
        targets.append(Target("webhook", f"env:{ADMIN_WEBHOOK_URL_ENV}", ADMIN_WEBHOOK_SECRET_ENV))
    return targets


def notify_admins(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    subject: str,
    title: str,
    text: str,
    runs: Sequence[DigestRun] = (),
) -> Alert:
    """Record and queue a notice to the admins (in the caller's transaction); the caller sends it."""
    log.error("%s\n%s", title, text)
    departments = {run.department_id for run in runs}
    alert = Alert(
        kind="admin",
        subject=subject[:100],
        department_id=departments.pop() if len(departments) == 1 else None,
        fired_at=now,
        title=title[:300],
        text=text,
        html=None,
        detail={"runs": [run.id for run in runs]},
    )
    session.add(alert)
    session.flush()
    targets = admin_targets(settings)
    if not targets:
        log.error(
            "FEEDBACK_ADMIN_EMAILS and FEEDBACK_ADMIN_WEBHOOK_URL are empty: the notice above is only here, "
            "in /health and in `feedback digests log`"
        )
    enqueue(
        session, message_key=f"admin:{alert.id}", purpose="admin", targets=targets, now=now, alert_id=alert.id
    )
    return alert
