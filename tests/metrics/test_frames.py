"""Frames read from the database: every path (SQLite in this process, SQLite through the ADBC child process,
PostgreSQL through ADBC) gives the same typed rows, nulls included."""

from __future__ import annotations

import polars as pl
import pytest

from feedback.db import frames
from feedback.db.frames import Column, Select, read_frame
from tests import factories
from tests.metrics.data import at, store


def _query() -> Select:
    columns = [
        Column("at", "submitted_at", "time"),
        Column("channel", "channel", "text"),
        Column("nps", "nps", "int"),
        Column("csat", "csat", "int"),
        Column("fcr", "first_contact_resolved", "bool"),
        Column("polarity", "(SELECT avg(polarity) FROM answers WHERE response_id = responses.id)", "float"),
    ]
    return Select("responses", columns).where_time("submitted_at", ">=", at("2026-10-01 00:00"))


@pytest.fixture
def stored(sessions) -> None:  # type: ignore[no-untyped-def]
    factories.survey(sessions)
    rows = [
        {
            "at": at("2026-10-05 10:00"),
            "answers": {"nps": 10, "comment": "Wonderful"},
            "context": {"channel": "phone"},
        },
        {"at": at("2026-10-06 11:30"), "answers": {"nps": 3, "csat": 1}},  # no channel, no comment
        {"at": at("2026-09-06 11:30"), "answers": {"nps": 5}, "context": {"channel": "chat"}},  # too early
        {
            "at": at("2026-10-07 09:00"),
            "answers": {"nps": 8, "comment": "Terrible wait"},
            "context": {"channel": "chat", "first_contact_resolved": "no"},
        },
    ]
    store(sessions, rows)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("at")


def test_every_read_path_gives_the_same_typed_rows(engine, stored, monkeypatch) -> None:
    here = _sorted(read_frame(engine, _query()))
    assert here.schema == {
        "at": pl.Datetime("us", "UTC"),
        "channel": pl.String,
        "nps": pl.Int64,
        "csat": pl.Int64,
        "fcr": pl.Boolean,
        "polarity": pl.Float64,
    }
    assert here["nps"].to_list() == [10, 3, 8]
    assert here["channel"].to_list() == ["phone", None, "chat"]
    assert here["csat"].to_list() == [None, 1, None]
    assert here["fcr"].to_list() == [None, None, False]
    assert here["polarity"][1] is None and here["polarity"][0] > 0 > here["polarity"][2]
    assert here["at"][0].isoformat() == "2026-10-05T10:00:00+00:00"
    if engine.dialect.name == "sqlite":
        monkeypatch.setattr(frames, "ARROW_FROM_ROWS", 0)  # every table counts as large: the child reads

        def not_here(*args: object) -> None:
            raise AssertionError("read in this process, not by the child")

        monkeypatch.setattr(frames, "_dbapi_batches", not_here)
        through_child = _sorted(read_frame(engine, _query()))
        assert through_child.equals(here)


def test_a_large_table_read_that_matches_no_row_gives_typed_empty_columns(
    engine, stored, monkeypatch
) -> None:
    """ADBC types the columns of an empty answer as int64: a text column must still come back as text (the
    executive dashboard answered 500 on 100k responses and no outcomes)."""
    if engine.dialect.name == "sqlite":
        monkeypatch.setattr(frames, "ARROW_FROM_ROWS", 0)  # every table counts as large: the child reads
    query = Select("responses", [Column("channel", "channel", "text"), Column("nps", "nps", "int")])
    query.where_time("submitted_at", ">=", at("2030-01-01 00:00"))
    empty = read_frame(engine, query)
    assert empty.height == 0
    assert empty.schema == {"channel": pl.String, "nps": pl.Int64}
