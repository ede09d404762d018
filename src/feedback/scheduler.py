"""`feedback scheduler`: the process that sends digests, retries deliveries, raises alerts and verifies fixes.

APScheduler 3 (BackgroundScheduler) with its jobs kept in the database (SQLAlchemyJobStore, table
apscheduler_jobs, created by the migrations), so a restart loses none:

- one job per distinct digest schedule (cron + time zone), shared by every department on it, so that all
  their charts are drawn in one browser session; ``misfire_grace_time`` = FEEDBACK_DIGEST_GRACE_S and
  ``coalesce``: a fire missed while the process was down runs once when it is back, if still within grace;
- ``outbox`` every minute: deliveries due for a retry; ``sweep`` every 5 minutes: missed digests (the
  admins hear of them), runs whose builder died, runs to close;
- ``alerts`` every 5 minutes; ``verify`` every hour; ``retention`` daily: free text older than
  FEEDBACK_RETENTION_TEXT_DAYS dropped (services/privacy/retention.py).

Jobs are thin: each calls one service function with ``now`` and is safe to run twice, since the services
claim their work in the database (digest_runs, deliveries and alert cooldowns are leases). Two scheduler
processes on the same database therefore never send the same digest twice. At start, and every minute, the
digest jobs are synced with the departments' schedules (a job whose schedule did not change is left as it
is, so its next run time, and any misfire, survive restarts). At start the due digests are also produced at
once, which catches up a fire whose job did not exist yet.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings, get_settings
from feedback.db import make_engine, make_sessionmaker
from feedback.services.digests import alerts, loop, outbox, schedule
from feedback.services.digests.cron import trigger
from feedback.services.privacy import retention

log = logging.getLogger("feedback.scheduler")

DIGEST_PREFIX = "digests:"
SYNC_SECONDS = 60


class _Context:
    """What the jobs share in this process (set by :func:`run`; jobs are looked up by name in the store)."""

    settings: Settings | None = None
    sessions: sessionmaker[Session] | None = None


CONTEXT = _Context()


def _now() -> datetime:
    return datetime.now(UTC)


def _parts() -> tuple[sessionmaker[Session], Settings]:
    assert CONTEXT.sessions is not None and CONTEXT.settings is not None, "the scheduler is not running"
    return CONTEXT.sessions, CONTEXT.settings


# -- the jobs (module-level functions: the job store keeps their names) --------------------------------------


def digest_job(schedule_key: str) -> None:
    sessions, settings = _parts()
    report = schedule.run_due(sessions, settings, _now(), schedule=schedule_key)
    if report.built or report.quiet or report.failed:
        log.info(
            "digests %s: %s built, %s quiet, %s failed",
            schedule_key,
            len(report.built),
            len(report.quiet),
            len(report.failed),
        )


def outbox_job() -> None:
    sessions, settings = _parts()
    outbox.deliver_due(sessions, settings, _now())


def sweep_job() -> None:
    sessions, settings = _parts()
    schedule.sweep(sessions, settings, _now())


def alerts_job() -> None:
    sessions, settings = _parts()
    alerts.check_spikes(sessions, settings, _now())


def verify_job() -> None:
    sessions, settings = _parts()
    loop.verify_fixes(sessions, settings, _now())


def retention_job() -> None:
    sessions, settings = _parts()
    counts = retention.retain_text(sessions, settings.retention_text_days, _now())
    if any(v for k, v in counts.items() if k != "cutoff"):
        log.info("retention: free text dropped %s", counts)


STATIC_JOBS: dict[str, tuple[Callable[[], None], dict[str, Any]]] = {
    "outbox": (outbox_job, {"minutes": 1}),
    "sweep": (sweep_job, {"minutes": 5}),
    "alerts": (alerts_job, {"minutes": 5}),
    "verify": (verify_job, {"hours": 1}),
    "retention": (retention_job, {"days": 1}),
}


# -- wiring --------------------------------------------------------------------------------------------------


def build(settings: Settings, engine: Engine) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults={"coalesce": True, "misfire_grace_time": settings.digest_grace_s, "max_instances": 1},
        timezone=UTC,
    )


def _add(
    scheduler: BackgroundScheduler, job_id: str, func: Callable[..., None], trig: Any, **kwargs: Any
) -> None:
    """Add a job unless it exists (another process may add it at the same moment)."""
    if scheduler.get_job(job_id) is not None:
        return
    with contextlib.suppress(ConflictingIdError):
        scheduler.add_job(func, trig, id=job_id, name=job_id, replace_existing=False, **kwargs)


def sync_jobs(scheduler: BackgroundScheduler, sessions: sessionmaker[Session]) -> None:
    """One digest job per distinct (cron, time zone) in use; jobs of schedules no longer used are removed."""
    with sessions() as session:
        wanted = {
            schedule.schedule_key(d.digest_schedule, d.timezone): (d.digest_schedule, d.timezone)
            for d in schedule.scheduled_departments(session)
            if d.digest_schedule
        }
    for key, (cron, tz) in wanted.items():
        _add(scheduler, DIGEST_PREFIX + key, digest_job, trigger(cron, tz), args=[key])
    for job in scheduler.get_jobs():
        if job.id.startswith(DIGEST_PREFIX) and job.id[len(DIGEST_PREFIX) :] not in wanted:
            with contextlib.suppress(JobLookupError):  # another process removed it
                scheduler.remove_job(job.id)


def _listen(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.error(
            "job %s missed its run at %s (past the grace period); the sweep records it and alerts the admins",
            event.job_id,
            event.scheduled_run_time,
        )
    elif event.exception is not None:
        log.error("job %s failed: %s", event.job_id, event.exception, exc_info=event.exception)


def run_once(sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None) -> None:
    """Every job once, now: due digests, retries, the sweep, alerts, verification."""
    now = now or _now()
    schedule.tick(sessions, settings, now)
    alerts.check_spikes(sessions, settings, now)
    loop.verify_fixes(sessions, settings, now)


def run(settings: Settings | None = None, stop: threading.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set)."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url, sqlite_synchronous_level=settings.sqlite_synchronous)
    sessions = make_sessionmaker(engine)
    CONTEXT.settings, CONTEXT.sessions = settings, sessions
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stop.set())
    scheduler = build(settings, engine)
    scheduler.add_listener(_listen, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    scheduler.start(paused=True)
    for job_id, (func, every) in STATIC_JOBS.items():
        _add(scheduler, job_id, func, "interval", **every)
    sync_jobs(scheduler, sessions)
    log.info("scheduler started: %s jobs", len(scheduler.get_jobs()))
    try:
        try:
            schedule.run_due(sessions, settings, _now())  # catch up what is due (within grace) first
        except Exception:
            log.exception("catching up the due digests failed; the digest jobs will try again")
        scheduler.resume()
        while not stop.wait(SYNC_SECONDS):
            try:
                sync_jobs(scheduler, sessions)
            except Exception:
                log.exception("syncing the digest jobs failed; trying again in a minute")
    finally:
        scheduler.shutdown(wait=True)
        engine.dispose()
        log.info("scheduler stopped")
