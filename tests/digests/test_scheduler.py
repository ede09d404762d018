"""The scheduler process: jobs kept in the database, a missed fire run once on restart (coalesced) within the
grace period, and two schedulers on one database sending every digest exactly once."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from feedback import scheduler as process
from feedback.db import make_engine, make_sessionmaker
from feedback.digests import schedule
from feedback.digests.schedule import RunReport
from feedback.models import Delivery, DigestRun
from feedback.models.digest import scheduler_jobs
from tests.digests import data
from tests.digests.servers import SmtpServer

ROOT = Path(__file__).resolve().parents[2]


def _down_while_due(
    database_url: str, grace_s: int, every: timedelta, down_s: float, monkeypatch
) -> list[str]:  # type: ignore[no-untyped-def]
    """A scheduler stores a digest job due in 1 s and stops; it is down for ``down_s``; a new one starts."""
    calls: list[str] = []

    def run_due(sessions, settings, now, schedule=None):  # type: ignore[no-untyped-def]
        calls.append(schedule)
        return RunReport()

    monkeypatch.setattr(schedule, "run_due", run_due)
    settings = data.settings_for(database_url, digest_grace_s=grace_s)
    engine = make_engine(database_url)
    process.CONTEXT.settings, process.CONTEXT.sessions = settings, make_sessionmaker(engine)
    first = process.build(settings, engine)
    first.start(paused=True)
    first.add_job(
        process.digest_job,
        "interval",
        seconds=every.total_seconds(),
        id="digests:test",
        args=["test"],
        next_run_time=datetime.now(UTC) + timedelta(seconds=1),
    )
    first.shutdown()  # the process stops before the job is due; the job stays in the database
    assert calls == []
    time.sleep(down_s)
    second = process.build(settings, engine)
    second.add_listener(process._listen, process.EVENT_JOB_MISSED)
    second.start()
    assert [job.id for job in second.get_jobs()] == ["digests:test"]
    time.sleep(0.4)
    second.shutdown()
    engine.dispose()
    return calls


def test_a_fire_missed_while_down_runs_once_after_a_restart(database_url, monkeypatch) -> None:
    calls = _down_while_due(database_url, 60, timedelta(seconds=1.5), 4, monkeypatch)
    assert calls == ["test"]  # three missed fires, coalesced into one run


def test_a_fire_missed_past_the_grace_period_is_not_run(database_url, monkeypatch, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="feedback.scheduler"):
        calls = _down_while_due(database_url, 1, timedelta(seconds=30), 3, monkeypatch)
    assert calls == [] and "missed its run" in caplog.text  # the sweep records it and alerts the admins


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _env(database_url: str, smtp: SmtpServer) -> dict[str, str]:
    return {
        **os.environ,
        "FEEDBACK_DATABASE_URL": database_url,
        "FEEDBACK_SMTP_HOST": "127.0.0.1",
        "FEEDBACK_SMTP_PORT": str(smtp.port),
        "FEEDBACK_SMTP_SECURITY": "none",
        "FEEDBACK_DIGEST_CHARTS": "0",
        "FEEDBACK_LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    }


def test_two_scheduler_processes_send_a_due_digest_once(database_url, sessions, smtp: SmtpServer) -> None:
    """Two real `feedback scheduler` processes start together; the digest due 10 minutes ago goes out once."""
    now = datetime.now(UTC)
    fire = now - timedelta(minutes=10)
    for slug in ("support", "billing"):
        data.department(
            sessions,
            slug,
            schedule=f"{fire.minute} * * * *",
            heads=[("H", f"{slug}@example.com")],
            since=now - timedelta(hours=2),
        )
    command = ["-c", "from feedback.cli import main; main()", "scheduler"]
    first, second = _spawn(command, _env(database_url, smtp)), _spawn(command, _env(database_url, smtp))
    try:
        deadline = time.monotonic() + 60
        while len(smtp.messages()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # time enough for a duplicate to arrive, if there were one
    finally:
        for child in (first, second):
            child.send_signal(signal.SIGTERM)
        logs = [child.communicate(timeout=60)[0] for child in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, logs
    assert sorted(m["To"] for m in smtp.messages()) == ["billing@example.com", "support@example.com"], logs
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DigestRun)) == 2
        jobs = session.execute(select(scheduler_jobs.c.id)).scalars().all()
    assert sorted(jobs) == sorted(
        [
            f"digests:{schedule.schedule_key(f'{fire.minute} * * * *', 'UTC')}",
            "outbox",
            "sweep",
            "alerts",
            "verify",
            "analysis",  # every FEEDBACK_ANALYZE_EVERY_MIN; no pollers file: no mention polling
            "retention",
        ]
    )


def test_two_run_loops_on_a_simulated_clock_deliver_each_digest_once(
    database_url, sessions, smtp, tmp_path
) -> None:
    """Two processes run the scheduler's loop over the same four simulated days, each step together."""
    slugs = ["support", "billing", "stores"]
    for slug in slugs:
        data.department(sessions, slug, heads=[("H", f"{slug}@example.com")])
    base = ["-m", "tests.digests.run_loop", database_url, str(smtp.port), data.T0.isoformat(), "96", "120"]
    loops = [_spawn([*base, str(tmp_path), name, "a,b"], _env(database_url, smtp)) for name in ("a", "b")]
    try:
        outputs = [loop.communicate(timeout=300)[0] for loop in loops]
    finally:
        for loop in loops:
            if loop.poll() is None:
                loop.kill()
    assert all(loop.returncode == 0 for loop in loops), outputs
    got = smtp.by_recipient()
    assert sorted(got) == [f"{slug}@example.com" for slug in sorted(slugs)]
    for slug in slugs:
        subjects = sorted(m["Subject"] for m in got[f"{slug}@example.com"])
        assert len(subjects) == 4 and len(set(subjects)) == 4, subjects  # four days, one digest each
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 12
        assert set(session.scalars(select(DigestRun.state))) == {"sent"}
