"""The periodic jobs, one registry: each domain declares its jobs beside its code (``JOBS`` in
digests/jobs.py, privacy/jobs.py, causes/jobs.py, mentions/jobs.py), and
both `feedback scheduler` (the long-running process) and `feedback scheduler --once` read them from here.

A job is a function of (sessions, settings, now) that is safe to run twice (the services claim their work in
the database) and returns what it did, for the log and for `--once`'s summary. ``every`` reads the job's
interval from the settings; ``None`` means the job is off in this installation (or, for ``digests``, that
the process runs it on each department's own schedule instead of an interval).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings

JobRun = Callable[[sessionmaker[Session], Settings, datetime], object]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobRun
    every: Callable[[Settings], timedelta | None]
    what: str  # one line for `feedback scheduler --list` and the docs
    setting: str = ""  # the setting(s) its interval comes from, if any


def fixed(**interval: float) -> Callable[[Settings], timedelta | None]:
    """An interval that does not depend on the settings."""
    return lambda _settings: timedelta(**interval)


def minutes(value: float) -> timedelta | None:
    """A setting in minutes; 0 or less: off."""
    return timedelta(minutes=value) if value > 0 else None


def all_jobs() -> tuple[Job, ...]:
    """Every periodic job, in the order `--once` runs them: digests are produced before deliveries are
    retried, analysis runs after polling brought the new mentions in."""
    from feedback.causes import jobs as causes
    from feedback.digests import jobs as digests
    from feedback.mentions import jobs as mentions
    from feedback.privacy import jobs as privacy

    return (*digests.JOBS, *mentions.JOBS, *causes.JOBS, *privacy.JOBS)
