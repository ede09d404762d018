"""A bulk import into PostgreSQL finds stored mentions by their keys, however young the table
(tests/pg_plans.py): a look-up planned as if the table were small would read all of it for every chunk."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from feedback.config import Settings
from feedback.db import make_engine, make_sessionmaker
from feedback.mentions import importer
from feedback.mentions.rules import IngestOptions
from feedback.models import Mention
from tests.conftest import BACKENDS
from tests.pg_plans import flush_statistics, table_stats

pytestmark = pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="PostgreSQL's planner only (FEEDBACK_TEST_BACKENDS)"
)

ROWS, CHUNK, COPIED_EVERY = 3000, 500, 50  # every 50th post is one text posted by many accounts


def _posts(path: Path) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "user", "at", "text"])
        for i in range(ROWS):
            text = (
                "win a free cruise, click the link now" if i % COPIED_EVERY == 0 else f"parcel {i} came late"
            )
            writer.writerow([i, f"user{i}", f"2026-10-{1 + i % 28:02d}T12:00:00Z", text])
    return path


def _import(sessions, path: Path) -> importer.ImportReport:  # type: ignore[no-untyped-def]
    mapping = {"source_id": "id", "author": "user", "posted_at": "at", "text": "text"}
    stream, records = importer.open_records(path, "csv", mapping)
    with stream:
        options = IngestOptions.from_settings(Settings())
        return importer.import_mentions(sessions, records, options, "twitter", chunk_size=CHUNK)


def test_an_import_into_a_young_table_never_reads_the_whole_table(postgres_url: str, tmp_path: Path) -> None:
    """Chunk after chunk into a growing table without statistics, then the same file again."""
    engine = make_engine(postgres_url)
    sessions = make_sessionmaker(engine)
    posts = _posts(tmp_path / "posts.csv")
    flush_statistics(engine)
    before = table_stats(engine, "seq_scan", ["mentions"])
    first = _import(sessions, posts)
    again = _import(sessions, posts)
    flush_statistics(engine)
    scans = table_stats(engine, "seq_scan", ["mentions"])
    assert table_stats(engine, "idx_scan", ["mentions"])["mentions"] > 0  # its reads were counted
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Mention))
        copies = session.scalar(select(func.count()).where(Mention.noise == "copypasta"))
    engine.dispose()
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (ROWS, 0, 0, ROWS)
    assert stored == ROWS and copies == ROWS // COPIED_EVERY  # every copy flagged, each row stored once
    assert scans["mentions"] - before.get("mentions", 0) == 0
