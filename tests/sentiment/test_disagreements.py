"""Disagreements between a score and its comment, and text without a score, from the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from feedback.accounts.access import OPERATOR
from feedback.cli import main
from feedback.db import transaction
from feedback.models import Role, utcnow
from feedback.sentiment.service import find_disagreements, model_at, score_unscored, train_from_database
from tests import factories
from tests.factories import bearer
from tests.metrics.data import store
from tests.sentiment.corpus import comments


@pytest.fixture
def answered(sessions):  # type: ignore[no-untyped-def]
    questions = [{**q, "required": False} for q in factories.survey_spec()["questions"]]
    factories.survey(sessions, questions=questions)  # every question optional: some answers have no score
    now = utcnow()
    store(
        sessions,
        [
            {
                "at": now,
                "answers": {"nps": 10, "comment": "Terrible, rude and awful. The worst service ever."},
            },
            {"at": now, "answers": {"nps": 0, "comment": "Wonderful people, perfect and excellent help!"}},
            {"at": now, "answers": {"nps": 10, "comment": "Great, thank you."}},
            {"at": now, "answers": {"csat": 2, "comment": "Bad and slow."}},
            {"at": now, "answers": {"comment": "Awful, I am furious."}},  # no score at all
        ],
    )


def test_textblob_flags_a_ten_with_an_angry_comment_and_a_zero_with_a_glowing_one(
    sessions, answered, tmp_path: Path
) -> None:
    model = model_at(tmp_path / "no-model-here.joblib")
    assert model.kind == "textblob"
    with sessions() as session:
        found = find_disagreements(session, model, OPERATOR)
    assert {(d.score, d.reason) for d in found} == {
        (10, "high score, unhappy text"),
        (0, "low score, happy text"),
    }
    assert all(d.survey == "support-followup" and d.scale == "nps" for d in found)


def test_a_model_learned_from_the_database_judges_unscored_comments(
    sessions, answered, tmp_path: Path
) -> None:
    store(
        sessions,
        [{"at": utcnow(), "answers": {"nps": score, "comment": text}} for text, score in comments(240)],
    )
    with transaction(sessions) as session:
        model = train_from_database(session, min_rows=100)
    assert model.kind == "learned" and model.trained_rows == 244
    with sessions() as session:
        [unscored] = score_unscored(session, model, "comment", OPERATOR)
        assert unscored.text == "Awful, I am furious." and unscored.model == "learned"
        assert score_unscored(session, model, "mention", OPERATOR) == []
        with pytest.raises(Exception, match="fewer than"):
            raise_if_textblob(train_from_database(session, min_rows=10_000))


def raise_if_textblob(model) -> None:  # type: ignore[no-untyped-def]
    if model.kind == "textblob":
        raise RuntimeError(model.note)


def test_disagreements_through_the_api_and_the_cli(
    client, sessions, answered, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    head = bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, department="support"))
    listed = client.get("/api/sentiment/disagreements", headers=head)
    assert listed.status_code == 200, listed.text
    assert sorted(d["score"] for d in listed.json()) == [0, 10]
    other = bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, department=_other_department(sessions)))
    assert client.get("/api/sentiment/disagreements", headers=other).json() == []
    unscored = client.get("/api/sentiment/unscored", params={"kind": "comment"}, headers=head).json()
    assert [u["text"] for u in unscored] == ["Awful, I am furious."] and unscored[0]["dissatisfied"] is True

    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_SENTIMENT_MODEL", str(tmp_path / "model.joblib"))
    result = CliRunner().invoke(main, ["sentiment", "disagreements"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "high score, unhappy text" in result.output and "low score, happy text" in result.output
    trained = CliRunner().invoke(main, ["sentiment", "train"], catch_exceptions=False)
    assert trained.exit_code == 1 and "TextBlob" in trained.output  # 4 scored comments are too few


def _other_department(sessions) -> str:  # type: ignore[no-untyped-def]
    factories.department(sessions, "delivery", "Delivery")
    return "delivery"
