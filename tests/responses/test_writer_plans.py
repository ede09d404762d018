"""PostgreSQL plans a young table as a small one: the response writer must still find rows by their keys.

A new database (or a table grown since its last ANALYZE) has no statistics, so PostgreSQL guesses that
each of a batch's keys matches 0.5% of the rows and reads the whole table instead of the index; a plan
prepared then (the foreign-key checks' too) keeps doing so as the table grows. SQLite has no such guess.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Engine, text, update

from feedback.db import make_engine, make_sessionmaker, transaction
from feedback.metrics import rollups
from feedback.models import Answer, utcnow
from feedback.responses.store import SurveyCache, store_batch
from feedback.responses.submissions import Submission
from feedback.responses.writer import ResponseWriter
from tests import factories
from tests.conftest import BACKENDS

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="PostgreSQL's planner only (FEEDBACK_TEST_BACKENDS)"
)

TABLES = ("responses", "answers")


def _table_stats(engine: Engine, column: str) -> dict[str, int]:
    with engine.connect() as connection:  # a new transaction: a fresh snapshot of the statistics
        rows = connection.execute(
            text(f"SELECT relname, {column} FROM pg_stat_user_tables WHERE relname = ANY(:names)"),
            {"names": list(TABLES)},
        )
        return {name: int(value or 0) for name, value in rows}


def _flush_statistics(engine: Engine) -> None:
    """Close every connection: a backend's last statistics are flushed when it exits."""
    engine.dispose()
    others = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with engine.connect() as connection:
        while connection.scalar(others):
            connection.rollback()
            time.sleep(0.05)


def _submission(i: int) -> Submission:
    return Submission(
        answers={"nps": i % 11, "comment": f"the courier was late, parcel {i}"},
        via="api",
        submitted_at=utcnow(),
        survey_slug="support-followup",
        idempotency_key=f"key-{i}",
    )


def test_the_writer_process_never_reads_a_whole_table_of_responses_or_answers(postgres_url: str) -> None:
    """It stores batches into a growing table and scores what an earlier writer left unscored."""
    engine = make_engine(postgres_url)
    sessions = make_sessionmaker(engine)
    factories.survey(sessions)
    left = 1000
    store_batch(sessions, [_submission(-1 - i) for i in range(left)], SurveyCache(), 5000)
    with transaction(sessions) as session:
        session.execute(update(Answer).values(polarity=None, subjectivity=None, analyzer=None))
        rollups.rebuild(session.connection())
    _flush_statistics(engine)
    scans_before = _table_stats(engine, "seq_scan")
    writer = ResponseWriter(sessions, 5000, mode="process")
    assert writer.mode == "process"
    writer.start()
    total = 3000

    async def submit_all() -> None:
        for start in range(0, total, 500):  # batches of up to 256 keys, into a table that grows
            await asyncio.gather(*(writer.submit(_submission(i)) for i in range(start, start + 500)))

    unscored = text("SELECT count(*) FROM answers WHERE analyzer IS NULL AND text IS NOT NULL")
    watcher = make_engine(postgres_url, keyed=True)  # its look-ups must not be counted as whole-table reads
    try:
        asyncio.run(submit_all())
        deadline = time.monotonic() + 60
        with watcher.connect() as connection:
            while connection.scalar(unscored) and time.monotonic() < deadline:
                connection.rollback()
                time.sleep(0.2)  # the writer scores what was left unscored once no request waits
    finally:
        writer.stop()
        watcher.dispose()
    _flush_statistics(engine)  # the writer's child has exited too
    scans = _table_stats(engine, "seq_scan")
    assert all(n > 0 for n in _table_stats(engine, "idx_scan").values())  # its reads were counted
    with engine.connect() as connection:
        scored = connection.scalar(text("SELECT count(*) FROM answers WHERE analyzer IS NOT NULL"))
    assert scored == total + left
    engine.dispose()
    assert {t: scans[t] - scans_before.get(t, 0) for t in TABLES} == {"responses": 0, "answers": 0}
