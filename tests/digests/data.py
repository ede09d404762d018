"""Builders for the digest tests: departments with heads, responses with comments, causes with a ledger."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.db import transaction
from feedback.departments.service import DepartmentSpec, upsert_department
from feedback.metrics import rollups
from feedback.models import (
    AnalysisRun,
    Answer,
    Cause,
    CauseAssignment,
    CauseLedger,
    CauseStatus,
    Question,
    Response,
    RunState,
)
from feedback.specs import convert
from tests import factories

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC


def settings_for(database_url: str, smtp_port: int = 1, **overrides: Any) -> Settings:
    base = Settings(
        database_url=database_url,
        base_url="http://feedback.test",
        secret_key="test-secret",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_from="feedback@example.com",
        admin_emails=("admin@example.com",),
        digest_charts=False,
        metrics_min_n=5,
    )
    return dataclasses.replace(base, **overrides)


def department(
    sessions: sessionmaker[Session],
    slug: str = "support",
    *,
    schedule: str | None = "0 8 * * *",
    tz: str = "UTC",
    heads: Sequence[tuple[str, str]] = (("Hana Head", "head@example.com"),),
    channels: Sequence[dict[str, Any]] = (),
    since: datetime = T0 - timedelta(hours=1),
    **fields: Any,
) -> int:
    spec = {
        "slug": slug,
        "name": slug.title(),
        "timezone": tz,
        "digest_schedule": schedule or "",
        "heads": [{"name": n, "email": e} for n, e in heads],
        "channels": list(channels),
        **fields,
    }
    with transaction(sessions) as session:
        return upsert_department(session, convert(spec, DepartmentSpec), now=since).id


def survey(sessions: sessionmaker[Session], department_slug: str = "support") -> tuple[int, int]:
    """(survey id, comment question id)."""
    created = factories.survey(sessions, slug=f"survey-{department_slug}", department=department_slug)
    with sessions() as session:
        question = session.scalar(
            select(Question.id).where(Question.survey_id == created.id, Question.key == "comment")
        )
    assert question is not None
    return created.id, question


def responses(
    sessions: sessionmaker[Session],
    survey_id: int,
    question_id: int,
    department_id: int,
    times: Sequence[datetime],
    nps: int = 3,
    comment: str | None = "it was bad",
) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in times]
    with transaction(sessions) as session:
        for rid, at in zip(ids, times, strict=True):
            session.add(
                Response(
                    id=rid,
                    survey_id=survey_id,
                    via="api",
                    submitted_at=at,
                    nps=nps,
                    csat=2 if nps < 7 else 5,
                    department_id=department_id,
                )
            )
        session.flush()
        if comment is not None:
            for rid in ids:
                session.add(Answer(response_id=rid, question_id=question_id, text=comment, polarity=-0.5))
        session.flush()  # rows written around the services: recount their days
        rollups.rebuild(session.connection(), {t.astimezone(UTC).date() for t in times})
    return ids


def analysis_run(sessions: sessionmaker[Session], started_at: datetime) -> int:
    with transaction(sessions) as session:
        run = AnalysisRun(
            state=RunState.COMPLETE, engine="test", started_at=started_at, finished_at=started_at, params={}
        )
        session.add(run)
        session.flush()
        return run.id


def cause(sessions: sessionmaker[Session], key: str, department_id: int, name: str | None = None) -> int:
    with transaction(sessions) as session:
        row = Cause(
            key=key,
            name=name or key.replace("-", " ").capitalize(),
            status=CauseStatus.ACTIVE,
            origin="taxonomy",
            keywords=[],
            examples=[],
            department_id=department_id,
            terms={},
            verbatims=[],
            size=0,
            first_seen_at=T0 - timedelta(days=70),
        )
        session.add(row)
        session.flush()
        return row.id


def ledger(
    sessions: sessionmaker[Session],
    run_id: int,
    cause_id: int,
    weeks: Sequence[tuple[date, int, float | None, str]],  # (monday, count, nps points lost, trend)
) -> None:
    with transaction(sessions) as session:
        for monday, count, lost, trend in weeks:
            start = datetime.combine(monday, datetime.min.time(), UTC)
            year, week, _ = monday.isocalendar()
            session.add(
                CauseLedger(
                    cause_id=cause_id,
                    run_id=run_id,
                    period=f"{year}-W{week:02d}",
                    period_start=monday,
                    count=count,
                    share=0.1,
                    nps_points_lost=lost,
                    csat_points_lost=None,
                    first_seen_at=T0 - timedelta(days=70),
                    last_seen_at=start + timedelta(days=6),
                    trend=trend,
                )
            )


def assign(
    sessions: sessionmaker[Session],
    run_id: int,
    cause_id: int,
    response_ids: Sequence[uuid.UUID],
    question_id: int,
    times: Sequence[datetime],
    department_id: int | None = None,
    confidence: float = 0.9,
) -> None:
    with transaction(sessions) as session:
        for rid, at in zip(response_ids, times, strict=True):
            session.add(
                CauseAssignment(
                    run_id=run_id,
                    cause_id=cause_id,
                    item_kind="answer",
                    response_id=rid,
                    question_id=question_id,
                    department_id=department_id,
                    occurred_at=at,
                    confidence=confidence,
                    method="taxonomy",
                )
            )


def every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out = []
    at = start
    while at < end:
        out.append(at)
        at += step
    return out
