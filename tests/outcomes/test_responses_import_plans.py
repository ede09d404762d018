"""A response import into PostgreSQL finds invitations and earlier responses by their keys, however young
the tables (tests/pg_plans.py): a look-up planned as if a table were small would read all of it per chunk."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from feedback.db import make_engine, make_sessionmaker
from feedback.models import Response
from feedback.outcomes import importer as rows_importer
from feedback.responses.importer import import_responses
from tests import factories
from tests.conftest import BACKENDS
from tests.pg_plans import flush_statistics, table_stats

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="PostgreSQL's planner only (FEEDBACK_TEST_BACKENDS)"
)

ROWS, CHUNK = 3000, 500
TABLES = ("invitations", "responses", "answers")


def _answers(path: Path) -> Path:
    lines = ["id,submitted_at,customer_id,nps,csat,comment"]
    lines += [
        f"r{i},2026-10-{1 + i % 28:02d},c{i % 700},{i % 11},{1 + i % 5},parcel {i} came late"
        for i in range(ROWS)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_response_import_into_young_tables_never_reads_a_whole_table(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunk after chunk into growing tables without statistics, then the same file again."""
    monkeypatch.setattr(rows_importer, "CHUNK_SIZE", CHUNK)
    engine = make_engine(postgres_url)
    sessions = make_sessionmaker(engine)
    factories.survey(sessions)
    answers = _answers(tmp_path / "answers.csv")
    flush_statistics(engine)
    before = table_stats(engine, "seq_scan", TABLES)
    reports = [
        import_responses(sessions, answers, survey_slug="support-followup", secret="s", max_text_chars=5000)
        for _ in range(2)
    ]
    flush_statistics(engine)
    scans = table_stats(engine, "seq_scan", TABLES)
    looked_up = table_stats(engine, "idx_scan", ["invitations", "responses"])
    assert all(n > 0 for n in looked_up.values()) and len(looked_up) == 2  # its reads were counted
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Response))
    engine.dispose()
    assert [(r.stored, r.duplicates) for r in reports] == [(ROWS, 0), (0, ROWS)] and stored == ROWS
    assert {t: scans[t] - before.get(t, 0) for t in TABLES} == dict.fromkeys(TABLES, 0)
