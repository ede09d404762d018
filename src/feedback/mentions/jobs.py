"""Polling the mention feeds as a periodic job (read by the scheduler through jobs.py).

Every FEEDBACK_POLL_EVERY_MIN minutes (0: off) the scheduler polls the feeds of FEEDBACK_POLLERS_FILE, as
`feedback mentions poll` does; with no pollers file the job is off.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.jobs import Job, minutes
from feedback.mentions.pollers import PollResult, http_client, load_config, poll_all
from feedback.mentions.rules import IngestOptions

log = logging.getLogger("feedback.scheduler")


def polling_every(settings: Settings) -> timedelta | None:
    return minutes(settings.poll_every_min) if settings.pollers_file else None


def poll(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> list[PollResult] | None:
    """Every configured feed polled once; None when polling is off."""
    if polling_every(settings) is None:
        return None
    config = load_config(settings.pollers_file, IngestOptions.from_settings(settings))
    with http_client() as client:
        results = poll_all(sessions, config, client, now)
    for result in results:
        if result.status == "error":
            log.error("polling %s failed: %s", result.key, result.error)
        elif result.stored:
            log.info("polling %s: %s mentions stored", result.key, result.stored)
    return results


JOBS = (
    Job(
        "mentions",
        poll,
        polling_every,
        "new public mentions from the feeds of FEEDBACK_POLLERS_FILE",
        "FEEDBACK_POLL_EVERY_MIN, FEEDBACK_POLLERS_FILE",
    ),
)
