"""Comments found unscored (responses/scoring.py: left by an earlier writer, which scored after its commit,
when it crashed in between): each filled in and counted in the rollups exactly once, as a recount from the
rows would count it: in chunks that split a response's comments, with two scorers at once, and by the next
writer (SQLite and PostgreSQL). The writer itself scores comments as it stores them."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.sentiment import ANALYZER, score_text
from feedback.config import get_settings
from feedback.db import transaction
from feedback.metrics import rollups
from feedback.models import Answer, response_rollups, utcnow
from feedback.responses import scoring
from feedback.responses.scoring import Unscored, score_comments, score_unscored
from feedback.responses.store import Stored, SurveyCache, store_batch
from feedback.responses.submissions import Submission
from tests import factories

SLUG = "support-followup"
QUESTIONS = [
    {"key": "nps", "type": "nps", "prompt": "Recommend us?"},
    {"key": "comment", "type": "text", "prompt": "What could we do better?"},
    {"key": "praise", "type": "text", "prompt": "What went well?"},
]
WORDS = ["great", "terrible", "slow", "friendly", "helpful", "rude", "late", "the parcel", "not good", "ok"]


def _submissions(seed: int, count: int) -> list[Submission]:
    """Responses with no, one or two comments, some with no score (judged by their comments alone)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        answers: dict[str, Any] = {}
        if rng.random() < 0.7:
            answers["nps"] = rng.randint(0, 10)
        for key in ("comment", "praise"):
            if rng.random() < 0.6:
                answers[key] = " ".join(rng.choices(WORDS, k=rng.randint(1, 6))) + f" ({seed}-{i})"
        answers = answers or {"comment": "awful"}
        out.append(
            Submission(
                answers=answers,
                via="api",
                submitted_at=utcnow(),
                survey_slug=SLUG,
                context={"channel": rng.choice(["phone", "chat"])},
            )
        )
    return out


def _store_unscored(sessions: sessionmaker[Session], seed: int, count: int) -> list[Unscored]:
    """What an earlier writer committed before it scored: complete responses with their comments not
    scored, counted in the rollups without them; those comments."""
    outcomes = store_batch(sessions, _submissions(seed, count), SurveyCache(), 5000)
    assert all(isinstance(o, Stored) for o in outcomes), outcomes
    with transaction(sessions) as session:
        session.execute(update(Answer).values(polarity=None, subjectivity=None, analyzer=None))
        rollups.rebuild(session.connection())
    return [Unscored(a.response_id, a.question_id, a.text) for a in _comments(sessions)]


def _comments(sessions: sessionmaker[Session]) -> list[Any]:
    with sessions() as session:
        return list(session.execute(select(Answer).where(Answer.text.is_not(None))).scalars())


def _counts(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    """The response rollups, rounded where sums of floats may differ in their last bits."""
    with sessions() as session:
        rows = session.execute(select(response_rollups)).all()
    return sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows)


def _assert_counted_as_a_recount(sessions: sessionmaker[Session]) -> None:
    kept = _counts(sessions)
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    recounted = _counts(sessions)
    assert recounted, "nothing recounted: the test stored no responses?"
    assert kept == recounted


def _assert_all_scored(sessions: sessionmaker[Session]) -> None:
    comments = _comments(sessions)
    assert comments
    for answer in comments:
        expected = score_text(answer.text)
        assert (answer.polarity, answer.subjectivity, answer.analyzer) == (
            expected.polarity,
            expected.subjectivity,
            ANALYZER,
        )


@pytest.fixture
def survey(sessions: sessionmaker[Session]) -> None:
    factories.survey(sessions, questions=QUESTIONS)


@pytest.mark.usefixtures("survey")
def test_comments_stored_unscored_are_scored_once_and_counted_as_a_recount_counts_them(
    sessions: sessionmaker[Session],
) -> None:
    _store_unscored(sessions, seed=1, count=40)
    assert {a.analyzer for a in _comments(sessions)} == {None}
    assert sum(row[0] for row in _polarity_counts(sessions)) == 0  # not counted before they are scored
    cutoffs = get_settings().cutoffs
    chunks = 0
    while True:  # 7 at a time: a response's two comments are often scored in two chunks
        _done, more = score_unscored(sessions, cutoffs, limit=7)
        chunks += 1
        if not more:
            break
    assert chunks > 3
    _assert_all_scored(sessions)
    _assert_counted_as_a_recount(sessions)
    counted = _counts(sessions)
    assert score_unscored(sessions, cutoffs) == (0, False)
    assert _counts(sessions) == counted


def _polarity_counts(sessions: sessionmaker[Session]) -> list[tuple[int, float]]:
    columns = select(response_rollups.c.comments, response_rollups.c.polarity_sum)
    with sessions() as session:
        return [(row.comments, row.polarity_sum) for row in session.execute(columns)]


@pytest.mark.usefixtures("survey")
def test_two_scorers_at_once_count_each_comment_once(sessions: sessionmaker[Session]) -> None:
    _store_unscored(sessions, seed=2, count=60)
    cutoffs = get_settings().cutoffs
    errors: list[BaseException] = []
    filled: list[int] = []

    def scorer() -> None:
        try:
            while True:
                done, more = score_unscored(sessions, cutoffs, limit=5)
                filled.append(done)
                if not more:
                    return
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=scorer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert sum(filled) == len(_comments(sessions))  # each comment filled in by one scorer only
    _assert_all_scored(sessions)
    _assert_counted_as_a_recount(sessions)


@pytest.mark.usefixtures("survey")
def test_comments_scored_in_two_overlapping_calls_are_filled_and_counted_once(
    sessions: sessionmaker[Session],
) -> None:
    handed = _store_unscored(sessions, seed=5, count=30)
    cutoffs = get_settings().cutoffs
    assert score_comments(sessions, cutoffs, handed[:11]) == 11  # a response's comments split in two
    assert score_comments(sessions, cutoffs, handed) == len(handed) - 11  # the first 11 are not filled twice
    _assert_all_scored(sessions)
    _assert_counted_as_a_recount(sessions)
    assert score_unscored(sessions, cutoffs) == (0, False)


@pytest.mark.usefixtures("survey")
def test_comments_another_writer_scores_between_the_read_and_the_fill_are_counted_by_it_alone(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scorer fills in its comments with one statement; when another writer scored some of them after
    they were read, it finds out which one by one, and counts only its own."""
    _store_unscored(sessions, seed=4, count=20)
    cutoffs = get_settings().cutoffs
    total = len(_comments(sessions))
    real_score_text = scoring.score_text
    others: list[int] = []

    def score_text_while_another_writer_scores(text: str) -> Any:
        if not others:  # once, after the first scorer has read its comments and before it fills them in
            others.append(0)
            monkeypatch.setattr(scoring, "score_text", real_score_text)  # the other writer scores as usual
            others[0] = score_unscored(sessions, cutoffs, limit=3)[0]
        return real_score_text(text)

    monkeypatch.setattr(scoring, "score_text", score_text_while_another_writer_scores)
    done, _more = score_unscored(sessions, cutoffs, limit=total)
    assert others == [3]
    assert done == total - 3
    _assert_all_scored(sessions)
    _assert_counted_as_a_recount(sessions)


def test_comments_a_stopped_writer_left_unscored_are_scored_by_the_next_one(
    sessions: sessionmaker[Session], client: Any
) -> None:
    """The client's app starts a writer, as a restarted server does; its scorer finds what was committed
    but never scored (the writer died in between). What is submitted now is scored before the 201."""
    factories.survey(sessions, questions=QUESTIONS)
    _store_unscored(sessions, seed=3, count=30)
    reply = client.post(
        f"/api/surveys/{SLUG}/responses", json={"answers": {"nps": 3, "comment": "rude and slow"}}
    )
    assert reply.status_code == 201, reply.text
    [new] = [a for a in _comments(sessions) if a.text == "rude and slow"]
    assert (new.polarity, new.analyzer) == (score_text("rude and slow").polarity, ANALYZER)
    deadline = time.monotonic() + 60
    while any(a.analyzer is None for a in _comments(sessions)) and time.monotonic() < deadline:
        time.sleep(0.2)
    _assert_all_scored(sessions)
    assert len(_comments(sessions)) > 30
    _assert_counted_as_a_recount(sessions)
