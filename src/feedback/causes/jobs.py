"""The cause analysis as a periodic job (read by the scheduler through jobs.py).

Every FEEDBACK_ANALYZE_EVERY_MIN minutes (0: off) the scheduler runs what `feedback analyze` runs. The job
is also safe under `feedback scheduler --once` from a cron that fires every minute: it skips while the last
complete run started less than the interval ago, and a run that another process finished first is skipped,
not an error.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from feedback.causes.analyze import AnalyzeOptions, RunSummary, analyze, last_complete_run
from feedback.config import Settings
from feedback.errors import Conflict
from feedback.jobs import Job, minutes

log = logging.getLogger("feedback.scheduler")
SLACK = 0.9  # an interval trigger fires a little after a full interval: 90% of it counts as due


def analysis_every(settings: Settings) -> timedelta | None:
    return minutes(settings.analyze_every_min)


def run_analysis(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> RunSummary | None:
    """One analysis run when due; None when skipped (off, or the last run is recent enough)."""
    every = analysis_every(settings)
    if every is None:
        return None
    with sessions() as session:
        last = last_complete_run(session)
    if last is not None and now - last.started_at < every * SLACK:
        return None
    try:
        summary = analyze(sessions, AnalyzeOptions.from_settings(settings))
    except Conflict as exc:  # another scheduler's run finished first: its results stand
        log.info("analysis skipped: %s", exc)
        return None
    log.info(
        "analysis run %s: %s feedback, %s negative texts, %s causes seen",
        summary.run_id,
        summary.items_total,
        summary.items_negative,
        summary.causes_seen,
    )
    return summary


JOBS = (
    Job(
        "analysis",
        run_analysis,
        analysis_every,
        "root causes found again (what `feedback analyze` does)",
        "FEEDBACK_ANALYZE_EVERY_MIN",
    ),
)
