"""Customers with invitations, responses, mentions and the copies of their words that other tables hold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.redact import redact
from feedback.db import transaction
from feedback.digests.render import render_alert
from feedback.metrics import rollups
from feedback.models import (
    Alert,
    AnalysisRun,
    Answer,
    Cause,
    CauseAssignment,
    DigestRun,
    Invitation,
    Mention,
    Question,
    Response,
    RunState,
    RunStatus,
    Survey,
)
from tests import factories

SLUG = "support-followup"


def respond(
    session: Session,
    at: datetime,
    nps: int,
    comment: str | None,
    invitation_id: int | None = None,
    slug: str = SLUG,
) -> uuid.UUID:
    """A response (linked to an invitation if given) with an NPS and a comment, as the writer stores it."""
    survey = session.scalars(select(Survey).where(Survey.slug == slug)).one()
    questions = {q.key: q.id for q in survey.questions}
    survey_id = survey.id
    response = Response(
        id=uuid.uuid4(), survey_id=survey_id, invitation_id=invitation_id, via="web", submitted_at=at, nps=nps
    )
    session.add(response)
    session.flush()
    session.add(Answer(response_id=response.id, question_id=questions["nps"], score=nps))
    if comment is not None:
        session.add(
            Answer(response_id=response.id, question_id=questions["comment"], text=comment, polarity=-0.5)
        )
    if invitation_id is not None:
        session.get_one(Invitation, invitation_id).responded_at = at
    session.flush()  # rows written around the services: recount the day
    rollups.rebuild(session.connection(), {at.astimezone(UTC).date()})
    return response.id


def mention(at: datetime, text: str, author: str | None = "someone", **extra: Any) -> Mention:
    return Mention(
        source=extra.get("source", "twitter"),
        source_id=uuid.uuid4().hex,
        via="import",
        author=author,
        url=extra.get("url", "https://social.example/p/1"),
        text=text,
        text_norm=text,
        text_hash=uuid.uuid4().hex,
        posted_at=at,
        received_at=at,
        department_id=extra.get("department_id"),
        polarity=-0.4,
        subjectivity=0.5,
        analyzer="test",
    )


def quoting_alert(at: datetime, quotes: list[str]) -> Alert:
    """An alert rendered by the real digest templates, quoting ``quotes`` as digests/ does."""
    shown = [as_quoted(q) for q in quotes]
    message = render_alert("Spike", "Many unhappy customers.", shown, {}, "http://x/dashboards/department")
    return Alert(
        kind="spike",
        subject="negative:1",
        fired_at=at,
        title="Spike",
        text=message.text,
        html=message.html,
        detail={
            "count": 9,
            "payload": {"blocks": [{"text": {"text": "Spike" + "".join(f"\n> {q}" for q in shown)}}]},
        },
    )


def as_quoted(text: str) -> str:
    """How digests and alerts quote a text: flattened, redacted, at most 300 characters."""
    return redact(" ".join(text.split()))[:300]


def quoting_digest(department_id: int, start: datetime, end: datetime, quotes: list[str]) -> DigestRun:
    quotes = [as_quoted(q) for q in quotes]
    message = render_alert("Digest", "Two problems.", quotes, {}, "http://x/dashboards/department")
    return DigestRun(
        department_id=department_id,
        period_key=f"{end.isoformat()}-{uuid.uuid4().hex[:6]}",
        kind="scheduled",
        scheduled_for=end,
        period_start=start,
        period_end=end,
        state=RunStatus.SENT,
        content={
            "headline": [{"metric": "nps", "value": 12.0}],
            "items": [{"cause": 1, "verbatims": quotes}],
        },
        html=message.html,
        text=message.text,
    )


def world(sessions: sessionmaker[Session], now: datetime) -> dict[str, Any]:
    """Jane (e-mail and customer id, two responses, a mention as @jane_doe) and Bob, with quotes of both."""
    factories.survey(sessions)
    factories.invite(
        sessions,
        [
            {"email": "Jane@Example.com", "customer_id": "C-1", "interaction_id": "i1", "channel": "phone"},
            {"email": "jane@example.com", "customer_id": "C-1", "interaction_id": "i2"},
            {"email": "bob@example.com", "customer_id": "C-2", "interaction_id": "i3"},
        ],
    )
    jane_words = "Agent hung up on me twice, call me on +49 30 1234 5678"
    jane_post = "@acme your app lost my order again"
    bob_words = "Refund took three weeks; Jane told me the same (jane@example.com)"
    with transaction(sessions) as session:
        invitations = {i.interaction_id: i.id for i in session.scalars(select(Invitation))}
        department_id = session.scalar(select(Invitation.department_id)) or factories_department(session)
        jane = [
            respond(session, now - timedelta(days=3), 2, jane_words, invitations["i1"]),
            respond(session, now - timedelta(days=2), 9, None, invitations["i2"]),
        ]
        bob = respond(session, now - timedelta(days=1), 4, bob_words, invitations["i3"])
        post = mention(now - timedelta(days=2), jane_post, author="@Jane_Doe")
        other_post = mention(now - timedelta(days=2), "delivery late again", author="@someone_else")
        session.add_all([post, other_post])
        run = AnalysisRun(state=RunState.COMPLETE, engine="test", started_at=now, finished_at=now)
        session.add(run)
        session.flush()
        comment_id = session.scalar(select(Question.id).where(Question.key == "comment"))
        cause = Cause(
            key="rude-agents", name="Rude agents", status="active", origin="taxonomy",
            verbatims=[jane_words, bob_words, jane_post], examples=[], size=3,
        )  # fmt: skip
        session.add(cause)
        session.flush()
        for response_id in (jane[0], bob):
            session.add(
                CauseAssignment(
                    run_id=run.id, cause_id=cause.id, item_kind="answer", response_id=response_id,
                    question_id=comment_id, occurred_at=now, confidence=0.9, method="taxonomy",
                )
            )  # fmt: skip
        session.add(
            CauseAssignment(
                run_id=run.id, cause_id=cause.id, item_kind="mention", mention_id=post.id,
                occurred_at=now, confidence=0.9, method="taxonomy",
            )
        )  # fmt: skip
        session.add(quoting_alert(now - timedelta(hours=1), [jane_words, bob_words]))
        session.add(
            quoting_digest(department_id, now - timedelta(days=7), now, [jane_words, jane_post, bob_words])
        )
    return {
        "jane_words": jane_words,
        "jane_post": jane_post,
        "bob_words": bob_words,
        "jane": jane,
        "bob": bob,
    }


def factories_department(session: Session) -> int:
    from feedback.models import Department

    return session.scalars(select(Department.id)).one()
