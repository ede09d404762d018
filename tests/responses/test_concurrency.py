"""Two writers (two web workers) racing on the same invitation or idempotency key store one row."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from feedback.db import make_engine, make_sessionmaker
from feedback.errors import Conflict
from feedback.models import Response, utcnow
from feedback.responses.store import Outcome, Stored, SurveyCache, store_batch
from feedback.responses.submissions import Submission
from tests import factories

ROUNDS = 15


def race(database_url: str, make: list[Submission]) -> list[Outcome]:
    """Run each submission in its own thread with its own engine, released at the same instant."""
    engines = [make_engine(database_url) for _ in make]
    barrier = threading.Barrier(len(make))
    outcomes: list[Outcome] = [Conflict("not run")] * len(make)

    def run(i: int) -> None:
        factory = make_sessionmaker(engines[i])
        barrier.wait()
        outcomes[i] = store_batch(factory, [make[i]], SurveyCache(), 5000)[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(make))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    return outcomes


def test_simultaneous_retries_with_one_idempotency_key_store_one_response(database_url, sessions) -> None:
    factories.survey(sessions)
    for n in range(ROUNDS):

        def make(n: int = n) -> Submission:
            return Submission(
                answers={"nps": 7},
                via="api",
                submitted_at=utcnow(),
                survey_slug="support-followup",
                idempotency_key=f"key-{n}",
            )

        a, b = race(database_url, [make(), make()])
        assert isinstance(a, Stored) and isinstance(b, Stored), (a, b)
        assert a.response_id == b.response_id
        assert sorted([a.replayed, b.replayed]) == [False, True]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == ROUNDS


def test_simultaneous_answers_to_one_invitation_store_one(database_url, sessions) -> None:
    factories.survey(sessions)
    tokens = factories.invite(sessions, [{"email": f"c{n}@example.com"} for n in range(ROUNDS)])
    for token in tokens:
        outcomes = race(
            database_url,
            [
                Submission(answers={"nps": score}, via="web", submitted_at=utcnow(), token=token)
                for score in (1, 9)
            ],
        )
        # the loser hears "already answered" (InvitationAlreadyAnswered) or, racing the insert, a Conflict
        stored = [o for o in outcomes if isinstance(o, Stored)]
        assert len(stored) == 1 and sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == ROUNDS
