"""Telling the admins that a digest did not go out: a log line (always), a row in the log (the run's state
and admin_alerted_at, an ``alerts`` row of kind admin) and an e-mail to FEEDBACK_ADMIN_EMAILS through the
outbox (so it is retried like any other message). Nothing fails silently.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from feedback.config import Settings
from feedback.models import Alert, DigestRun
from feedback.services.digests.recipients import Target, enqueue

log = logging.getLogger(__name__)


def notify_admins(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    subject: str,
    title: str,
    text: str,
    run: DigestRun | None = None,
) -> Alert:
    """Record and queue a notice to the admins (in the caller's transaction)."""
    log.error("%s\n%s", title, text)
    alert = Alert(
        kind="admin",
        subject=subject[:100],
        department_id=run.department_id if run is not None else None,
        fired_at=now,
        title=title[:300],
        text=text,
        html=None,
        detail={"run": run.id if run is not None else None},
    )
    session.add(alert)
    session.flush()
    if run is not None:
        run.admin_alerted_at = now
    if not settings.admin_emails:
        log.error(
            "FEEDBACK_ADMIN_EMAILS is empty: the notice above is only here and in `feedback digests log`"
        )
    enqueue(
        session,
        message_key=f"admin:{alert.id}",
        purpose="admin",
        targets=[Target("email", address) for address in settings.admin_emails],
        now=now,
        alert_id=alert.id,
    )
    return alert
