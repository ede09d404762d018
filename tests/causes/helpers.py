"""Feedback rows for the database tests, written straight into the tables."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.metrics import rollups
from feedback.models import Answer, Question, Response
from tests import factories

MONDAY = datetime(2026, 11, 2, 10, tzinfo=UTC)


def setup_survey(sessions: sessionmaker[Session]) -> tuple[int, int, dict[str, int]]:
    """A survey owned by support; returns (survey id, comment question id, department ids by slug)."""
    survey = factories.survey(sessions)
    ids = {
        slug: factories.department(sessions, slug, slug.title())
        for slug in ("support", "logistics", "billing")
    }
    with sessions() as session:
        question = session.scalar(
            select(Question.id).where(Question.survey_id == survey.id, Question.key == "comment")
        )
    assert question is not None
    return survey.id, question, ids


def add_responses(
    sessions: sessionmaker[Session],
    survey_id: int,
    question_id: int,
    texts: list[str],
    *,
    nps: int = 3,
    csat: int | None = None,
    department_id: int | None = None,
    week: int = 0,
    product: str | None = None,
) -> list[uuid.UUID]:
    """One response per text (comment answer) in week ``week`` after MONDAY."""
    ids = []
    with transaction(sessions) as session:
        for i, text in enumerate(texts):
            rid = uuid.uuid4()
            ids.append(rid)
            session.add(
                Response(
                    id=rid, survey_id=survey_id, via="api", nps=nps, csat=csat, department_id=department_id,
                    product=product, submitted_at=MONDAY + timedelta(weeks=week, minutes=i),
                )
            )  # fmt: skip
            session.flush()
            session.add(Answer(response_id=rid, question_id=question_id, text=text, polarity=-0.1))
        session.flush()  # rows written around the services: recount their days
        rollups.rebuild(
            session.connection(),
            {(MONDAY + timedelta(weeks=week)).date() + timedelta(days=d) for d in (0, 1)},
        )
    return ids
