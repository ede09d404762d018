"""PostgreSQL plans a young table as a small one: the response writer must still find rows by their keys
(tests/pg_plans.py). A plan prepared then, the foreign-key checks' too, would keep reading whole tables."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text, update

from feedback.db import make_engine, make_sessionmaker, transaction
from feedback.metrics import rollups
from feedback.models import Answer, utcnow
from feedback.responses.store import SurveyCache, store_batch
from feedback.responses.submissions import Submission
from feedback.responses.writer import ResponseWriter
from tests import factories
from tests.conftest import BACKENDS
from tests.pg_plans import flush_statistics, table_stats

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="PostgreSQL's planner only (FEEDBACK_TEST_BACKENDS)"
)

TABLES = ("responses", "answers")


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
    flush_statistics(engine)
    scans_before = table_stats(engine, "seq_scan", TABLES)
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
    flush_statistics(engine)  # the writer's child has exited too
    scans = table_stats(engine, "seq_scan", TABLES)
    assert all(n > 0 for n in table_stats(engine, "idx_scan", TABLES).values())  # its reads were counted
    with engine.connect() as connection:
        scored = connection.scalar(text("SELECT count(*) FROM answers WHERE analyzer IS NOT NULL"))
    assert scored == total + left
    engine.dispose()
    assert {t: scans[t] - scans_before.get(t, 0) for t in TABLES} == {"responses": 0, "answers": 0}
