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


def test_writer_mode_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    monkeypatch.setenv("FEEDBACK_WRITER", "thread")
    assert Settings().writer == "thread"
    assert ResponseWriter(sessions, 100, mode=Settings().writer).mode == "thread"
    monkeypatch.delenv("FEEDBACK_WRITER")
    assert ResponseWriter(sessions, 100, mode=Settings().writer).mode == "process"
    with pytest.raises(ValueError, match="FEEDBACK_WRITER"):
        ResponseWriter(sessions, 100, mode="fork")
