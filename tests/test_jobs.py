"""The job registry: `feedback scheduler` and `--once` run the same jobs, analysis and mention polling among
them, on the intervals of the settings; `feedback scheduler --list` prints each with its next run."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from feedback import scheduler as process
from feedback.config import Settings
from feedback.jobs import all_jobs
from feedback.models import AnalysisRun, Mention, RunState
from tests.digests import data
from tests.mentions.feed_server import FeedServer, feed_server

ENTRY = """<entry><title>Complaint {n}</title><link href="https://reviews.example/r/{n}"/>
<id>urn:review:{n}</id><updated>2026-11-21T18:{n:02d}:00Z</updated><author><name>Buyer {n}</name></author>
<content type="html">The parcel arrived broken and late again, terrible delivery service number {n}.</content>
</entry>"""
WHEN = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
FEED = '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
FEED += "<title>Reviews</title><id>urn:reviews</id><updated>2026-11-21T18:30:02Z</updated>{entries}</feed>"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        body = FEED.format(entries="".join(ENTRY.format(n=n) for n in range(8))).encode()
        running.routes["/reviews"] = lambda seen: (200, {"Content-Type": "application/atom+xml"}, body)
        yield running


def _settings(database_url: str, pollers: Path, every_min: float) -> Settings:
    return replace(
        data.settings_for(database_url),
        pollers_file=str(pollers),
        poll_every_min=every_min,
        analyze_every_min=every_min,
        causes_engine="default",
        causes_min_size=3,
    )


def _pollers(tmp_path: Path, server: FeedServer) -> Path:
    path = tmp_path / "pollers.toml"
    path.write_text(f'[[rss]]\nurl = "{server.base}/reviews"\nsource = "reviews"\n')
    return path


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        runs = session.scalar(select(func.count()).where(AnalysisRun.state == RunState.COMPLETE))
        mentions = session.scalar(select(func.count()).select_from(Mention))
    return int(runs or 0), int(mentions or 0)


def test_every_periodic_job_is_in_the_one_registry() -> None:
    names = [job.name for job in all_jobs()]
    assert names == ["digests", "outbox", "sweep", "alerts", "verify", "mentions", "analysis", "retention"]
    assert set(process.JOBS) == set(names)


def test_once_polls_and_analyses_when_due_by_the_clock(database_url, sessions, server, tmp_path) -> None:
    settings = _settings(database_url, _pollers(tmp_path, server), every_min=60)
    start = datetime.now(UTC)
    first = process.run_once(sessions, settings, start)
    assert first["mentions"] is not None and first["analysis"] is not None
    assert _counts(sessions) == (1, 8)  # the feed's 8 mentions, then one analysis run that read them
    assert len(server.requests_to("/reviews")) == 1
    soon = process.run_once(sessions, settings, start + timedelta(minutes=20))
    assert soon["analysis"] is None and _counts(sessions) == (1, 8)  # analysed 20 min ago: not due
    assert len(server.requests_to("/reviews")) == 2  # the feed is polled on every run (its own cursor)
    later = process.run_once(sessions, settings, start + timedelta(minutes=61))
    assert later["analysis"] is not None and _counts(sessions) == (2, 8)
    off = replace(settings, analyze_every_min=0, pollers_file="")
    assert set(process.run_once(sessions, off, start + timedelta(hours=5))) == {
        "digests",
        "outbox",
        "sweep",
        "alerts",
        "verify",
        "retention",
    }
    assert _counts(sessions) == (2, 8) and len(server.requests_to("/reviews")) == 3


def test_the_scheduler_process_polls_and_analyses_on_its_own(
    database_url, sessions, server, tmp_path
) -> None:
    settings = _settings(database_url, _pollers(tmp_path, server), every_min=1 / 60)  # every second
    stop = threading.Event()
    thread = threading.Thread(target=process.run, args=(settings, stop), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            len(server.requests_to("/reviews")) >= 2 and _counts(sessions)[0] >= 2
        ):
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(30)
    runs, mentions = _counts(sessions)
    assert len(server.requests_to("/reviews")) >= 2 and mentions == 8  # polled again and again, stored once
    assert runs >= 2  # analysis ran on its interval, with no cron and no `feedback analyze`


def test_list_prints_every_job_with_its_next_run(database_url, sessions, tmp_path, monkeypatch) -> None:
    from feedback.cli import main

    data.department(sessions, "support", schedule="0 8 * * mon")
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_ANALYZE_EVERY_MIN", "30")
    monkeypatch.delenv("FEEDBACK_POLLERS_FILE", raising=False)
    result = CliRunner().invoke(main, ["scheduler", "--list"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:-1]}
    assert set(lines) == set(process.JOBS)
    assert "cron 0 8 * * mon (UTC)" in lines["digests"] and "digests of support" in lines["digests"]
    assert "every 30 min" in lines["analysis"] and "every 1 min" in lines["outbox"]
    assert "off" in lines["mentions"] and not re.search(WHEN, lines["mentions"])
    for name in ("digests", "outbox", "sweep", "alerts", "verify", "analysis", "retention"):
        assert re.search(WHEN, lines[name]), lines[name]
    monday = re.search(WHEN, lines["digests"])
    assert monday and datetime.fromisoformat(monday.group(0)).weekday() == 0


def test_once_runs_every_job_when_one_fails_and_exits_non_zero(database_url, sessions, monkeypatch) -> None:
    from feedback.cli import main

    ran: list[str] = []
    for name, job in process.JOBS.items():

        def run(sessions, settings, now, name=name):  # type: ignore[no-untyped-def]
            ran.append(name)
            if name == "alerts":
                raise RuntimeError("the alerts job broke")
            return name

        monkeypatch.setitem(process.JOBS, name, replace(job, run=run))
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.delenv("FEEDBACK_POLLERS_FILE", raising=False)
    result = CliRunner().invoke(main, ["scheduler", "--once"])
    assert result.exit_code == 1 and "alerts: the alerts job broke" in result.output
    assert ran == ["digests", "outbox", "sweep", "alerts", "verify", "analysis", "retention"]
    ran.clear()
    with pytest.raises(process.JobsFailed) as failed:
        process.run_once(sessions, data.settings_for(database_url))
    assert failed.value.results["verify"] == "verify" and set(failed.value.errors) == {"alerts"}


def older_version_job() -> None:
    """Stands for a job function an older version stored and this one no longer has."""


def test_jobs_stored_by_an_older_version_are_replaced(database_url, monkeypatch) -> None:
    import sys

    from feedback.db import make_engine

    settings = data.settings_for(database_url)
    engine = make_engine(database_url)
    old = process.build(settings, engine)
    old.start(paused=True)
    old.add_job(f"{__name__}:older_version_job", "interval", minutes=1, id="outbox", name="outbox")
    old.shutdown()
    monkeypatch.delattr(sys.modules[__name__], "older_version_job")  # upgraded: the function is gone
    new = process.build(settings, engine)
    new.start(paused=True)
    process.sync_interval_jobs(new, settings)
    outbox = new.get_job("outbox")
    assert outbox is not None and outbox.func_ref == process.INTERVAL_JOB and outbox.args == ("outbox",)
    assert {job.id for job in new.get_jobs()} == {
        "outbox",
        "sweep",
        "alerts",
        "verify",
        "analysis",
        "retention",
    }
    new.shutdown()
    engine.dispose()
