"""The digest loop's periodic jobs (read by the scheduler through jobs.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.digests import alerts, loop, outbox, schedule
from feedback.jobs import Job, fixed

log = logging.getLogger("feedback.scheduler")


def digests(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> schedule.RunReport:
    """Every department's due digest (the process also runs one job per distinct schedule)."""
    report = schedule.run_due(sessions, settings, now)
    if report.built or report.quiet or report.failed:
        log.info(
            "digests: %s built, %s quiet, %s failed", len(report.built), len(report.quiet), len(report.failed)
        )
    return report


JOBS = (
    Job("digests", digests, lambda _settings: None, "each department's digest, on its own schedule"),
    Job("outbox", outbox.deliver_due, fixed(minutes=1), "deliveries due for a retry"),
    Job(
        "sweep",
        schedule.sweep,
        fixed(minutes=5),
        "missed digests (admins told), dead builders, runs to close",
    ),
    Job("alerts", alerts.check_spikes, fixed(minutes=5), "spikes of a cause or of dissatisfied customers"),
    Job("verify", loop.verify_fixes, fixed(hours=1), "whether fixed causes stayed fixed"),
)
