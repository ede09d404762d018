"""What analysis reads: every text answer and mention with its scores and context, nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.causes.items import FEEDBACK_SCHEMA, TEXT_SCHEMA, read_items
from feedback.db import transaction
from feedback.models import Answer, Mention, Question, Response, Survey
from tests.causes.helpers import setup_survey

T = datetime(2026, 11, 2, 10, 15, 30, 123456, tzinfo=UTC)


def _mention(
    source_id: str, text: str, at: datetime, department: int | None, noise: str | None = None
) -> Mention:
    return Mention(
        source="appstore", source_id=source_id, via="import", text=text.upper(), text_norm=text,
        text_hash=source_id, posted_at=at, received_at=at, product="App", department_id=department,
        polarity=-0.4, noise=noise,
    )  # fmt: skip


def _world(sessions: sessionmaker[Session]) -> tuple[uuid.UUID, uuid.UUID, int, int, int]:
    survey, comment, departments = setup_survey(sessions)
    with sessions() as session:
        choice = session.query(Question.id).filter_by(survey_id=survey, key="reason").scalar()
    early, late = uuid.UUID(int=1), uuid.UUID(int=2**127 + 5)
    with transaction(sessions) as session:
        session.add(
            Response(
                id=early, survey_id=survey, via="api", submitted_at=T - timedelta(days=30), nps=2,
                department_id=departments["billing"], product="Pro", channel="phone",
            )
        )  # fmt: skip
        session.add(Response(id=late, survey_id=survey, via="web", submitted_at=T, nps=9, csat=5, ces=6))
        session.add(Response(id=uuid.uuid4(), survey_id=survey, via="web", submitted_at=T, nps=8))
        session.flush()
        session.add(Answer(response_id=early, question_id=comment, text="charged twice", polarity=-0.3))
        session.add(Answer(response_id=early, question_id=choice, text="Billing"))  # not free text
        session.add(Answer(response_id=late, question_id=comment, text="", polarity=0.0))  # empty
        kept = _mention("1", "app keeps crashing", T - timedelta(days=1), departments["support"])
        session.add_all([kept, _mention("2", "same words", T, None, noise="copypasta")])
        session.flush()
        return early, late, kept.id, departments["billing"], departments["support"]


def test_items_hold_every_text_with_its_scores_and_context(engine: Engine, sessions) -> None:  # type: ignore[no-untyped-def]
    early, late, mention, billing, support = _world(sessions)
    with sessions() as session:
        survey = session.scalar(select(Survey.id))
    items = read_items(engine)
    assert items.feedback.schema == pl.Schema(FEEDBACK_SCHEMA)
    assert items.texts.schema == pl.Schema(TEXT_SCHEMA)
    assert items.feedback.height == 4  # three responses and the mention that is not noise
    assert items.feedback.filter(pl.col("key") == f"r:{late}").row(0) == (f"r:{late}", T, 9, 5, 6, survey)
    assert items.texts.to_dicts() == [
        {
            "item": f"a:{early}:{items.texts['question_id'][0]}", "key": f"r:{early}", "kind": "answer",
            "response_id": str(early), "question_id": items.texts["question_id"][0], "mention_id": None,
            "text": "charged twice", "occurred_at": T - timedelta(days=30), "nps": 2, "csat": None,
            "ces": None, "survey_id": survey, "polarity": -0.3, "department_id": billing,
            "department": "billing", "product": "Pro", "channel": "phone",
        },
        {
            "item": f"m:{mention}", "key": f"m:{mention}", "kind": "mention", "response_id": None,
            "question_id": None, "mention_id": mention, "text": "app keeps crashing",
            "occurred_at": T - timedelta(days=1), "nps": None, "csat": None, "ces": None, "survey_id": None,
            "polarity": -0.4,
            "department_id": support, "department": "support", "product": "App", "channel": "appstore",
        },
    ]  # fmt: skip
    assert items.feedback["key"].to_list() == sorted(items.feedback["key"].to_list())


def test_since_keeps_only_later_feedback(engine: Engine, sessions) -> None:  # type: ignore[no-untyped-def]
    early, late, mention, *_ = _world(sessions)
    items = read_items(engine, since=T - timedelta(days=2))
    keys = set(items.feedback["key"].to_list())
    assert len(keys) == 3 and {f"r:{late}", f"m:{mention}"} <= keys and f"r:{early}" not in keys
    assert items.texts["item"].to_list() == [f"m:{mention}"]


def test_no_feedback_reads_as_empty_typed_frames(engine: Engine) -> None:
    items = read_items(engine)
    assert items.feedback.height == 0 and items.feedback.schema == pl.Schema(FEEDBACK_SCHEMA)
    assert items.texts.height == 0 and items.texts.schema == pl.Schema(TEXT_SCHEMA)
