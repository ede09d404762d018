"""Reading stored responses back, newest first, scoped to what the caller may see and redacted for them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from feedback.accounts.access import Caller
from feedback.models import Department, Question, Response
from feedback.models.context import CONTEXT
from feedback.privacy import exposure
from feedback.surveys.service import get_survey


class AnswerOut(msgspec.Struct):
    question: str
    value: int | str
    polarity: float | None = None
    subjectivity: float | None = None
    analyzer: str | None = None


class ResponseOut(msgspec.Struct):
    id: uuid.UUID
    survey: str
    submitted_at: datetime
    via: str
    department: str | None
    nps: int | None
    csat: int | None
    ces: int | None
    context: dict[str, Any]
    answers: list[AnswerOut]
    complete: bool  # False: only the score clicked in an e-mail so far (a partial response)
    language: str | None  # the language the survey was answered in


def list_responses(
    session: Session, caller: Caller, slug: str, *, limit: int, before: datetime | None
) -> list[ResponseOut]:
    """Up to ``limit`` responses to survey ``slug`` submitted before ``before`` that ``caller`` may see,
    redacted for them (another department's survey: NotFound, as if it did not exist)."""
    department_id = caller.scope()
    survey = get_survey(session, slug, department_id)
    query = (
        select(Response)
        .where(Response.survey_id == survey.id)
        .options(selectinload(Response.answers))
        .order_by(Response.submitted_at.desc(), Response.id)
        .limit(limit)
    )
    if department_id is not None:
        query = query.where(Response.department_id == department_id)
    if before is not None:
        query = query.where(Response.submitted_at < before)
    keys = {q.id: q.key for q in session.scalars(select(Question).where(Question.survey_id == survey.id))}
    slugs = dict(session.execute(select(Department.id, Department.slug)).all())
    out = []
    for r in session.scalars(query):
        context = {f.name: getattr(r, f.name) for f in CONTEXT if getattr(r, f.name) is not None}
        answers = [
            AnswerOut(
                keys[a.question_id],
                a.score if a.score is not None else (a.choice or a.text or ""),
                a.polarity,
                a.subjectivity,
                a.analyzer,
            )
            for a in r.answers
        ]
        out.append(
            ResponseOut(
                r.id,
                survey.slug,
                r.submitted_at,
                r.via,
                slugs.get(r.department_id or -1),
                r.nps,
                r.csat,
                r.ces,
                context,
                answers,
                r.complete,
                r.language,
            )
        )
    return exposure.answers(caller, out)
