"""FEEDBACK_WRITER and FEEDBACK_SQLITE_SYNCHRONOUS come through Settings to the writer and the engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from feedback.config import Settings
from feedback.db import make_engine, make_sessionmaker
from feedback.responses.writer import ResponseWriter


def test_sqlite_synchronous_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    levels = {"FULL": 2, "EXTRA": 3, "NORMAL": 1}
    for name, number in levels.items():
        monkeypatch.setenv("FEEDBACK_SQLITE_SYNCHRONOUS", name.lower())
        assert Settings().sqlite_synchronous == name
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA synchronous")).scalar() == number
        engine.dispose()
    explicit = make_engine(url, sqlite_synchronous_level="NORMAL")
    with explicit.connect() as connection:
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1
    explicit.dispose()
    monkeypatch.setenv("FEEDBACK_SQLITE_SYNCHRONOUS", "OFF")
    with pytest.raises(ValueError, match="FEEDBACK_SQLITE_SYNCHRONOUS"):
        make_engine(url)


def test_only_an_engine_asked_not_to_be_durable_commits_before_the_disk_has_it(database_url: str) -> None:
    """The response writer's scorer commits this way (a scoring lost in a crash is done again); every
    other engine, the one that stores responses included, waits for the disk."""
    sqlite = database_url.startswith("sqlite")
    query = text("PRAGMA synchronous" if sqlite else "SHOW synchronous_commit")
    for durable, expected in ((True, 2 if sqlite else "on"), (False, 1 if sqlite else "off")):
        engine = make_engine(database_url, durable=durable)
        with engine.connect() as connection:
            assert connection.execute(query).scalar() == expected
        engine.dispose()


def test_writer_mode_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    monkeypatch.setenv("FEEDBACK_WRITER", "thread")
    assert Settings().writer == "thread"
    assert ResponseWriter(sessions, 100, mode=Settings().writer).mode == "thread"
    monkeypatch.delenv("FEEDBACK_WRITER")
    assert ResponseWriter(sessions, 100, mode=Settings().writer).mode == "process"
    with pytest.raises(ValueError, match="FEEDBACK_WRITER"):
        ResponseWriter(sessions, 100, mode="fork")
