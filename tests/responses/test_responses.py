"""Storing submissions: the rules a customer and an integrator rely on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from feedback.db import transaction
from feedback.errors import (
    InvalidInput,
    InvitationAlreadyAnswered,
    InvitationExpired,
    NotFound,
    SurveyClosed,
)
from feedback.models import Answer, Invitation, Response, SurveyStatus, utcnow
from feedback.responses.store import Stored, SurveyCache, store_batch
from feedback.responses.submissions import Submission
from feedback.surveys.service import set_status
from tests import factories


def sub(**kw: object) -> Submission:
    kw.setdefault("answers", {"nps": 9})
    kw.setdefault("via", "api")
    kw.setdefault("submitted_at", utcnow())
    return Submission(**kw)  # type: ignore[arg-type]


def count(sessions, model=Response) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def setup(sessions):  # type: ignore[no-untyped-def]
    factories.survey(sessions)
    tokens = factories.invite(
        sessions,
        [
            {
                "email": "ann@example.com",
                "channel": "phone",
                "team": "blue",
                "handle_time_s": "420",
                "first_contact_resolved": "no",
            },
            {"email": "bob@example.com"},
        ],
    )
    return tokens


def test_invited_response_is_stored_with_context_scores_and_sentiment(sessions, setup) -> None:
    answers = {
        "nps": 3,
        "csat": "2",
        "ces": 2,
        "reason": "Billing",
        "comment": "The agent was rude and the wait was terrible.",
    }
    [outcome] = store_batch(sessions, [sub(token=setup[0], answers=answers)], SurveyCache(), 5000)
    assert isinstance(outcome, Stored)
    with sessions() as session:
        response = session.get(Response, outcome.response_id)
        assert response is not None
        assert (response.nps, response.csat, response.ces) == (3, 2, 2)
        assert (response.channel, response.team, response.handle_time_s) == ("phone", "blue", 420)
        assert response.first_contact_resolved is False
        comment = session.scalar(select(Answer).where(Answer.text.is_not(None)))
        assert comment is not None and comment.polarity is not None and comment.polarity < 0
        assert comment.analyzer is not None and comment.analyzer.startswith("textblob")
        invitation = session.scalar(select(Invitation).where(Invitation.email == "ann@example.com"))
        assert invitation is not None and invitation.responded_at is not None


def test_second_response_to_one_invitation_is_409_and_first_stays(sessions, setup) -> None:
    first, second = store_batch(
        sessions,
        [sub(token=setup[0], answers={"nps": 10}), sub(token=setup[0], answers={"nps": 0})],
        SurveyCache(),
        5000,
    )
    assert isinstance(first, Stored)
    assert isinstance(second, InvitationAlreadyAnswered) and second.status_code == 409
    [third] = store_batch(sessions, [sub(token=setup[0], answers={"nps": 1})], SurveyCache(), 5000)
    assert isinstance(third, InvitationAlreadyAnswered)
    with sessions() as session:
        assert session.scalars(select(Response.nps)).all() == [10]


def test_retry_with_same_idempotency_key_returns_the_original(sessions, setup) -> None:
    request = {"token": setup[1], "answers": {"nps": 8}, "idempotency_key": "abc"}
    a, b = store_batch(sessions, [sub(**request), sub(**request)], SurveyCache(), 5000)
    [c] = store_batch(sessions, [sub(**request)], SurveyCache(), 5000)
    assert isinstance(a, Stored) and isinstance(b, Stored) and isinstance(c, Stored)
    assert a.response_id == b.response_id == c.response_id
    assert (a.replayed, b.replayed, c.replayed) == (False, True, True)
    assert count(sessions) == 1


def test_reused_idempotency_key_with_other_answers_is_rejected(sessions, setup) -> None:
    store_batch(
        sessions,
        [sub(answers={"nps": 8}, survey_slug="support-followup", idempotency_key="k")],
        SurveyCache(),
        5000,
    )
    [outcome] = store_batch(
        sessions,
        [sub(answers={"nps": 2}, survey_slug="support-followup", idempotency_key="k")],
        SurveyCache(),
        5000,
    )
    assert isinstance(outcome, InvalidInput)
    assert outcome.errors[0].field == "Idempotency-Key"
    assert count(sessions) == 1


def test_one_idempotency_key_sent_to_two_surveys_stores_one_response_in_each(sessions, setup) -> None:
    factories.survey(sessions, slug="delivery-followup")
    first, second = (
        sub(survey_slug=slug, idempotency_key="k") for slug in ("support-followup", "delivery-followup")
    )
    [a] = store_batch(sessions, [first], SurveyCache(), 5000)
    [b] = store_batch(sessions, [second], SurveyCache(), 5000)
    [again] = store_batch(sessions, [second], SurveyCache(), 5000)
    assert isinstance(a, Stored) and isinstance(b, Stored) and isinstance(again, Stored)
    assert a.response_id != b.response_id and not b.replayed
    assert (again.response_id, again.replayed) == (b.response_id, True)
    assert count(sessions) == 2


def test_a_retry_is_looked_up_by_its_key_not_by_reading_the_surveys_responses(sessions, setup) -> None:
    """On a fresh table (no planner statistics yet) the look-up of a batch's keys reads those rows
    only: PostgreSQL once read every response of the survey for each batch, so storing slowed as the
    survey grew."""
    for start in range(0, 3000, 500):
        keys = [f"key-{i}" for i in range(start, start + 500)]
        store_batch(
            sessions,
            [sub(survey_slug="support-followup", idempotency_key=k) for k in keys],
            SurveyCache(),
            5000,
        )
    looked_up: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "idempotency_key IN" in statement:
            looked_up.append((statement, parameters))

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", capture)
    retries = [sub(survey_slug="support-followup", idempotency_key=f"key-{i}") for i in (3, 1501, 2999)]
    assert all(o.replayed for o in store_batch(sessions, retries, SurveyCache(), 5000))  # type: ignore[union-attr]
    event.remove(engine, "before_cursor_execute", capture)
    [(statement, parameters)] = looked_up
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
            plan = cursor.fetchone()[0][0]["Plan"]
            nodes = [plan, *plan.get("Plans", [])]
            assert all(n["Node Type"] != "Seq Scan" for n in nodes), plan
            assert (
                sum(
                    n.get("Rows Removed by Filter", 0) + n.get("Rows Removed by Index Recheck", 0)
                    for n in nodes
                )
                == 0
            ), plan
            assert plan["Actual Rows"] == 3
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            [detail] = [row[3] for row in cursor.fetchall()]
            assert detail.startswith("SEARCH responses USING INDEX") and "idempotency_key=?" in detail, detail


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"nps": 11}, "answers.nps", "from 0 to 10"),
        ({"nps": -1}, "answers.nps", "from 0 to 10"),
        ({"nps": True}, "answers.nps", "whole number"),
        ({"nps": 5, "csat": 0}, "answers.csat", "from 1 to 5"),
        ({"nps": 5, "ces": 8}, "answers.ces", "from 1 to 7"),
        ({"csat": 4}, "answers.nps", "required"),
        ({"nps": 5, "reason": "Weather"}, "answers.reason", "one of"),
        ({"nps": 5, "shoe_size": 9}, "answers.shoe_size", "no such question"),
        ({"nps": 5, "comment": "x" * 501}, "answers.comment", "at most 500"),
        ({"nps": 5, "comment": ["a list"]}, "answers.comment", "expected text"),
    ],
)
def test_bad_answers_name_the_field_and_store_nothing(sessions, setup, answers, field, message) -> None:
    [outcome] = store_batch(sessions, [sub(token=setup[0], answers=answers)], SurveyCache(), 5000)
    assert isinstance(outcome, InvalidInput)
    assert any(e.field == field and message in e.message for e in outcome.errors), outcome.errors
    assert count(sessions) == 0 and count(sessions, Answer) == 0
    with sessions() as session:
        assert (
            session.scalar(select(Invitation.responded_at).where(Invitation.email == "ann@example.com"))
            is None
        )


def test_one_bad_submission_does_not_spoil_its_batch(sessions, setup) -> None:
    good, bad = store_batch(
        sessions, [sub(token=setup[0]), sub(token=setup[1], answers={"nps": 42})], SurveyCache(), 5000
    )
    assert isinstance(good, Stored) and isinstance(bad, InvalidInput)
    assert count(sessions) == 1


def test_unknown_expired_and_closed(sessions, setup) -> None:
    [unknown] = store_batch(sessions, [sub(token="not-a-token")], SurveyCache(), 5000)
    assert isinstance(unknown, NotFound)
    expiring = factories.invite(
        sessions, [{"email": "cy@example.com"}], expires_at=utcnow() + timedelta(hours=1)
    )
    [expired] = store_batch(
        sessions, [sub(token=expiring[0], submitted_at=utcnow() + timedelta(hours=2))], SurveyCache(), 5000
    )
    assert isinstance(expired, InvitationExpired) and expired.status_code == 410
    cache = SurveyCache()
    assert isinstance(store_batch(sessions, [sub(token=setup[0])], cache, 5000)[0], Stored)
    with transaction(sessions) as session:
        set_status(session, "support-followup", SurveyStatus.CLOSED)
    [closed] = store_batch(sessions, [sub(token=setup[1])], cache, 5000)  # the cache sees the change
    assert isinstance(closed, SurveyClosed) and closed.status_code == 410
    assert count(sessions) == 1


def test_anonymous_responses_need_a_public_link(sessions) -> None:
    factories.survey(sessions, anonymous_link=False)
    [outcome] = store_batch(sessions, [sub(survey_slug="support-followup")], SurveyCache(), 5000)
    assert isinstance(outcome, InvalidInput) and outcome.errors[0].field == "token"


def test_anonymous_context_is_validated(sessions) -> None:
    factories.survey(sessions)
    [outcome] = store_batch(
        sessions,
        [sub(survey_slug="support-followup", context={"department": "nowhere", "wait_time_s": "-3"})],
        SurveyCache(),
        5000,
    )
    assert isinstance(outcome, InvalidInput)
    assert {e.field for e in outcome.errors} == {"context.department", "context.wait_time_s"}
    [ok] = store_batch(
        sessions,
        [sub(survey_slug="support-followup", context={"channel": "web", "wait_time_s": 30})],
        SurveyCache(),
        5000,
    )
    assert isinstance(ok, Stored)


def test_context_text_longer_than_its_column_is_refused_by_field(sessions) -> None:
    factories.survey(sessions)
    # channel and region are 64-character columns, the other text fields 128 (models/context.py)
    context = {"channel": "c" * 65, "region": "r" * 64, "product": "p" * 128, "team": "t" * 129}
    [outcome] = store_batch(
        sessions, [sub(survey_slug="support-followup", context=context)], SurveyCache(), 5000
    )
    assert isinstance(outcome, InvalidInput)
    assert {e.field: e.message for e in outcome.errors} == {
        "context.channel": "longer than 64 characters",
        "context.team": "longer than 128 characters",
    }
    del context["channel"], context["team"]
    [ok] = store_batch(sessions, [sub(survey_slug="support-followup", context=context)], SurveyCache(), 5000)
    assert isinstance(ok, Stored) and count(sessions) == 1
