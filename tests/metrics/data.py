"""Storing responses with chosen times, scores and context, through the real storing path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from feedback.responses.store import Stored, SurveyCache, store_batch
from feedback.responses.submissions import Submission


def store(
    sessions: sessionmaker[Session], rows: Sequence[Mapping[str, Any]], slug: str = "support-followup"
) -> None:
    """Each row: ``at`` (aware datetime), ``answers``, optional ``context`` and ``token``."""
    submissions = [
        Submission(
            answers=row["answers"],
            via="api",
            submitted_at=row["at"],
            survey_slug=slug,
            token=row.get("token"),
            context=row.get("context", {}),
        )
        for row in rows
    ]
    outcomes = store_batch(sessions, submissions, SurveyCache(), 5000)
    bad = [o for o in outcomes if not isinstance(o, Stored)]
    assert not bad, bad


def at(text: str) -> datetime:
    """An aware UTC time from '2026-11-22 23:30'."""
    return datetime.fromisoformat(text + "+00:00")
