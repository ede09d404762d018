"""Privacy's periodic job (read by the scheduler through jobs.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.jobs import Job, fixed
from feedback.privacy import retention

log = logging.getLogger("feedback.scheduler")


def retain(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> dict[str, Any]:
    """Free text older than FEEDBACK_RETENTION_TEXT_DAYS dropped (nothing when it is 0)."""
    counts = retention.retain_text(sessions, settings.retention_text_days, now)
    if any(v for k, v in counts.items() if k != "cutoff"):
        log.info("retention: free text dropped %s", counts)
    return counts


JOBS = (Job("retention", retain, fixed(days=1), "free text older than FEEDBACK_RETENTION_TEXT_DAYS dropped"),)
