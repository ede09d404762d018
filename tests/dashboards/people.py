"""More of what people look at, on top of tests/dashboards/data.py: a department whose surveys ask only CSAT
(charlie), an unreviewed candidate cause, comments and a mention assigned to alpha's cause (one with an
e-mail address in it), a follow-up history, a channel typed in another case, and a "(none)" channel with a
tiny sample that must not set a chart's scale.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.users import create_user
from feedback.db import transaction
from feedback.departments.service import department_slugs
from feedback.models import (
    AnalysisRun,
    Answer,
    Cause,
    CauseAssignment,
    CauseLedger,
    Question,
    QuestionKind,
    Response,
    Role,
    RunState,
)
from tests import factories
from tests.dashboards import data
from tests.dashboards.data import PASSWORD, A
from tests.metrics.data import store

C = "charlie"
C_NAME = "Charlie Delivery"
CANDIDATE = "straight answer / advice / advice given"
SECRET_EMAIL = "jane.doe@example.com"
HEAD_B = "head-b@example.com"
ASSIGNED = 60  # alpha comments assigned to alpha's cause (more than one page of 25 on the cause page)


def seed(sessions: sessionmaker[Session]) -> None:
    data.seed(sessions)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(weeks=data.WEEKS)
    csat_only = [
        {"key": "csat", "type": "csat", "prompt": "How happy are you with the delivery?", "required": True},
        {"key": "comment", "type": "text", "prompt": "What could we do better?"},
    ]
    factories.survey(sessions, slug=f"{C}-survey", department=C, questions=csat_only)
    factories.department(sessions, C, C_NAME)
    store(
        sessions,
        [
            {
                "at": start + timedelta(hours=10 * i + 2),
                "answers": {"csat": 1 + i % 5, "comment": f"charlie comment {i}"},
                "context": {"department": C, "channel": "courier"},
            }
            for i in range(80)
        ],
        slug=f"{C}-survey",
    )
    # Two answers without a channel, both delighted: a "(none)" of n = 2 at NPS 100.
    store(
        sessions,
        [
            {"at": now - timedelta(days=d), "answers": {"nps": 10}, "context": {"department": A}}
            for d in (1, 2)
        ],
        slug=f"{A}-survey",
    )
    with transaction(sessions) as session:
        ids = department_slugs(session)
        run = session.scalars(select(AnalysisRun).order_by(AnalysisRun.id.desc())).first()
        assert run is not None and run.state == RunState.COMPLETE
        candidate = Cause(
            key="candidate-7",
            name=CANDIDATE,
            status="candidate",
            origin="discovered",
            keywords=["advice"],
            examples=[],
            suggested_department_id=ids[A],
            label="advice",
            verbatims=["alpha: no straight answer, only advice"],
            size=9,
            first_seen_at=start,
            last_seen_at=now,
            created_at=start,
            updated_at=now,
        )
        session.add(candidate)
        session.flush()
        monday = now.date() - timedelta(days=now.weekday())
        session.add(
            CauseLedger(
                cause_id=candidate.id,
                run_id=run.id,
                period=f"{monday:%G-W%V}",
                period_start=monday,
                count=9,
                share=0.3,
                nps_points_lost=99.0,  # it would top the chart if candidates were on it
                csat_points_lost=5.0,
                first_seen_at=start,
                last_seen_at=now,
                trend="new",
            )
        )
        late = Cause(
            key="charlie-late",
            name="Charlie parcels come late",
            status="active",
            origin="taxonomy",
            keywords=["late"],
            examples=[],
            department_id=ids[C],
            label="late",
            verbatims=["charlie comment: late again"],
            size=5,
            first_seen_at=now - timedelta(days=8),
            last_seen_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(late)
        session.flush()
        session.add(
            CauseLedger(
                cause_id=late.id,
                run_id=run.id,
                period=f"{monday - timedelta(days=7):%G-W%V}",
                period_start=monday - timedelta(days=7),  # a complete week: what a digest reports
                count=5,
                share=0.2,
                nps_points_lost=1.2,  # from other departments' answers: charlie asks no NPS
                csat_points_lost=3.4,
                first_seen_at=now - timedelta(days=8),
                last_seen_at=now,
                trend="new",
            )
        )
        _assign(session, run.id, ids[A])
        create_user(session, HEAD_B, "Bea Head", PASSWORD, Role.DEPARTMENT_HEAD, data.B)


def _assign(session: Session, run_id: int, department_id: int) -> None:
    """The newest alpha comments (and one with an e-mail address) assigned to alpha's refunds cause."""
    cause = session.scalars(select(Cause).where(Cause.key == "alpha-refunds")).one()
    rows: list[Any] = session.execute(
        select(Answer.response_id, Answer.question_id, Response.submitted_at)
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(Question.kind == QuestionKind.TEXT, Response.department_id == department_id)
        .where(Answer.text.like("%slow refund%"))
        .order_by(Response.submitted_at.desc())
        .limit(ASSIGNED)
    ).all()
    newest = rows[0]
    answer = session.get(Answer, (newest.response_id, newest.question_id))
    assert answer is not None
    answer.text = f"alpha: slow refund again, write to me at {SECRET_EMAIL}"
    for response_id, question_id, at in rows:
        session.add(
            CauseAssignment(
                run_id=run_id,
                cause_id=cause.id,
                item_kind="answer",
                response_id=response_id,
                question_id=question_id,
                department_id=department_id,
                occurred_at=at,
                confidence=0.8,
                method="taxonomy",
            )
        )
