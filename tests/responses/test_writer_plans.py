"""PostgreSQL plans a young table as a small one: the response writer must still find rows by their keys.

A new database (or a table grown since its last ANALYZE) has no statistics, so PostgreSQL guesses that
each of a batch's keys matches 0.5% of the rows and reads the whole table instead of the index; a plan
prepared then (the foreign-key checks' too) keeps doing so as the table grows. SQLite has no such guess.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Engine, text

from feedback.db import make_engine, make_sessionmaker
from feedback.models import utcnow
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


def test_the_writer_process_never_reads_a_whole_table_of_responses_or_answers(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    sessions = make_sessionmaker(engine)
    factories.survey(sessions)
    scans_before = _table_stats(engine, "seq_scan")
    writer = ResponseWriter(sessions, 5000, mode="process")
    assert writer.mode == "process"
    writer.start()
    total = 3000

    async def submit_all() -> None:
        for start in range(0, total, 500):  # batches of up to 256 keys, into a table that grows
            await asyncio.gather(
                *(
                    writer.submit(
                        Submission(
                            answers={"nps": i % 11, "comment": f"the courier was late, parcel {i}"},
                            via="api",
                            submitted_at=utcnow(),
                            survey_slug="support-followup",
                            idempotency_key=f"key-{i}",
                        )
                    )
                    for i in range(start, start + 500)
                )
            )

    try:
        asyncio.run(submit_all())
        deadline = time.monotonic() + 60
        while _table_stats(engine, "n_tup_upd")["answers"] < total and time.monotonic() < deadline:
            time.sleep(0.2)  # the writer scores the comments once no request waits
        assert _table_stats(engine, "n_tup_upd")["answers"] == total
    finally:
        writer.stop()
    time.sleep(1.1)  # the child's last statistics arrive when it exits
    scans = _table_stats(engine, "seq_scan")
    assert all(n > 0 for n in _table_stats(engine, "idx_scan").values())  # its reads were counted
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM answers WHERE analyzer IS NOT NULL")) == total
    engine.dispose()
    assert {t: scans[t] - scans_before.get(t, 0) for t in TABLES} == {"responses": 0, "answers": 0}
