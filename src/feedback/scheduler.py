"""`feedback scheduler`: the process that runs every periodic job of jobs.py's registry.

The jobs (``feedback scheduler --list`` prints them with their next run; README "Scheduler"):

- one ``digests`` job per distinct digest schedule (cron + time zone), shared by every department on it, so
  that all their charts are drawn in one browser session; ``misfire_grace_time`` = FEEDBACK_DIGEST_GRACE_S
  and ``coalesce``: a fire missed while the process was down runs once when it is back, if still within grace;
- every other job of the registry on its interval: ``outbox`` (retries, every minute), ``sweep`` (missed
  digests, every 5 minutes), ``alerts`` (5 minutes), ``verify`` (fix checks, hourly), ``mentions`` (feed
  polling, FEEDBACK_POLL_EVERY_MIN), ``analysis`` (root causes, FEEDBACK_ANALYZE_EVERY_MIN) and ``retention``
  (daily). A job whose interval is off in the settings is not scheduled.

APScheduler 3 (BackgroundScheduler) keeps the jobs in the database (SQLAlchemyJobStore, table
apscheduler_jobs, created by the migrations), so a restart loses none. Jobs are thin: each calls its domain's
function with ``now`` and is safe to run twice, since the services claim their work in the database
(digest_runs, deliveries, alert cooldowns, feed cursors and analysis runs are leases). Two scheduler
processes on the same database therefore never send the same digest twice. At start, and every minute, the
digest jobs are synced with the departments' schedules (a job whose schedule did not change is left as it
is, so its next run time, and any misfire, survive restarts). At start the due digests are also produced at
once, which catches up a fire whose job did not exist yet.

``run_once`` (`feedback scheduler --once`, for a cron-driven setup) runs every job of the same registry once
and returns what each returned.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings, get_settings
from feedback.db import make_engine, make_sessionmaker
from feedback.digests import schedule
from feedback.digests.cron import trigger
from feedback.jobs import Job, all_jobs
from feedback.models.digest import scheduler_jobs

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


def interval_job(name: str) -> None:
    """The registry's job ``name``, now."""
    sessions, settings = _parts()
    JOBS[name].run(sessions, settings, _now())


JOBS: dict[str, Job] = {job.name: job for job in all_jobs()}
INTERVAL_JOB = f"{__name__}:interval_job"


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


class JobsFailed(Exception):
    """Jobs of ``run_once`` raised (the others still ran); ``results`` holds what those returned."""

    def __init__(self, errors: dict[str, BaseException], results: dict[str, object]) -> None:
        super().__init__("; ".join(f"{name}: {error}" for name, error in errors.items()))
        self.errors, self.results = errors, results


def run_once(
    sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> dict[str, object]:
    """Every job of the registry once, now, in its order (a job that is off in the settings is skipped):
    job name -> what it returned. A job that raises is logged and the rest still run; then JobsFailed."""
    now = now or _now()
    results: dict[str, object] = {}
    errors: dict[str, BaseException] = {}
    for job in JOBS.values():
        if job.name != "digests" and job.every(settings) is None:
            continue
        try:
            results[job.name] = job.run(sessions, settings, now)
        except Exception as error:
            log.exception("job %s failed", job.name)
            errors[job.name] = error
    if errors:
        raise JobsFailed(errors, results)
    return results


def sync_interval_jobs(scheduler: BackgroundScheduler, settings: Settings) -> None:
    """One job per registry job that has an interval; a stored job whose interval changed is replaced, one
    that is now off, or stored by an older version (its function gone: it cannot even be loaded), removed."""
    for name, job in JOBS.items():
        every = job.every(settings)
        try:
            stored = scheduler.get_job(name)
            loadable = True
        except (LookupError, ValueError, AttributeError, ImportError):  # an older version's job function
            stored, loadable = None, False
        same = (
            stored is not None
            and stored.func_ref == INTERVAL_JOB
            and getattr(stored.trigger, "interval", None) == every
        )
        if (stored is not None or not loadable) and not same:
            with contextlib.suppress(JobLookupError):
                scheduler.remove_job(name)
        if every is not None and not same:
            _add(scheduler, name, interval_job, "interval", args=[name], seconds=every.total_seconds())


@dataclass(frozen=True)
class Planned:
    """A line of `feedback scheduler --list`."""

    job: str
    schedule: str
    next_run: datetime | None  # None: never (off)
    stored: bool  # the next run is the running scheduler's (False: when a scheduler starts now)
    what: str


def planned_jobs(
    sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> list[Planned]:
    """Every job with its next run: the stored one when a scheduler has run on this database, else the first
    run a scheduler started now would make."""
    now = now or _now()
    with sessions() as session:
        stored = {
            job_id: datetime.fromtimestamp(at, UTC)
            for job_id, at in session.execute(select(scheduler_jobs.c.id, scheduler_jobs.c.next_run_time))
            if at is not None
        }
        departments = schedule.scheduled_departments(session)
    out = []
    crons = sorted({(d.digest_schedule, d.timezone) for d in departments if d.digest_schedule})
    for cron, tz in crons:
        key = schedule.schedule_key(cron, tz)
        job_id = DIGEST_PREFIX + key
        users = ", ".join(d.slug for d in departments if (d.digest_schedule, d.timezone) == (cron, tz))
        upcoming = stored.get(job_id) or trigger(cron, tz).get_next_fire_time(None, now)
        out.append(
            Planned("digests", f"cron {cron} ({tz})", upcoming, job_id in stored, f"digests of {users}")
        )
    if not crons:
        out.append(Planned("digests", "no schedule yet", None, False, JOBS["digests"].what))
    for name, job in JOBS.items():
        if name == "digests":
            continue
        every = job.every(settings)
        if every is None:
            out.append(Planned(name, f"off ({job.setting})", None, False, job.what))
            continue
        text = f"every {_duration(every)}"
        out.append(Planned(name, text, stored.get(name) or now + every, name in stored, job.what))
    return out


def _duration(every: timedelta) -> str:
    seconds = every.total_seconds()
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''}"
    return f"{seconds:g} s"


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
    sync_interval_jobs(scheduler, settings)
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
