"""The daily rollups stay equal to a recount from the rows, and metrics read from them equal metrics read
from the rows, after random submissions, invitations, erasures and retention runs (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.metrics import Period
from feedback.db import transaction
from feedback.models import invitation_rollups, response_rollups
from feedback.services import rollups
from feedback.services.metrics import MetricsQuery, compute_many, compute_metrics
from feedback.services.privacy.erase import erase_customer
from feedback.services.privacy.identifiers import IdentifierKind
from feedback.services.privacy.retention import retain_text
from feedback.services.responses import Stored, SurveyCache, store_batch
from feedback.services.submissions import Submission
from tests import factories
from tests.metrics.data import store

START = datetime(2026, 9, 1, tzinfo=UTC)
CHANNELS = ["phone", "chat", "email", None]
PRODUCTS = ["router", "tv", None]
COMMENTS = ["Great help, thank you", "Awful wait, terrible", "The parcel came late", "ok", ""]


def _random_rows(rng: random.Random, count: int, tokens: list[str]) -> list[dict[str, Any]]:
    rows = []
    for _ in range(count):
        answers: dict[str, Any] = {"nps": rng.randint(0, 10)}
        if rng.random() < 0.7:
            answers["csat"] = rng.randint(1, 5)
        if rng.random() < 0.4:
            answers["ces"] = rng.randint(1, 7)
        comment = rng.choice(COMMENTS)
        if comment:
            answers["comment"] = comment
        at = START + timedelta(minutes=rng.randrange(60 * 24 * 60))
        row: dict[str, Any] = {"at": at, "answers": answers}
        if tokens and rng.random() < 0.3:
            row["token"] = tokens.pop()
        else:
            context = {"channel": rng.choice(CHANNELS), "product": rng.choice(PRODUCTS)}
            if rng.random() < 0.5:
                context["first_contact_resolved"] = rng.random() < 0.6
            row["context"] = {k: v for k, v in context.items() if v is not None}
        rows.append(row)
    return rows


def _snapshot(sessions: sessionmaker[Session]) -> dict[str, pl.DataFrame]:
    out = {}
    with sessions() as session:
        for table in (response_rollups, invitation_rollups):
            rows = [dict(r._mapping) for r in session.execute(select(table))]
            frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
            out[table.name] = frame.sort(frame.columns[:8]) if rows else frame
    return out


def _assert_same(kept: dict[str, pl.DataFrame], recounted: dict[str, pl.DataFrame]) -> None:
    for name, frame in recounted.items():
        assert frame.height > 0, f"{name} recounted nothing: the test stored no rows?"
        assert_frame_equal(kept[name], frame, check_dtypes=False, abs_tol=1e-9)


@pytest.fixture
def busy(sessions: sessionmaker[Session]) -> list[str]:
    """A survey with two months of random responses, some through invitations; the invitees' e-mails."""
    rng = random.Random(7)
    factories.survey(sessions)
    emails = [f"c{i}@example.com" for i in range(40)]
    tokens = factories.invite(
        sessions,
        [{"email": e, "channel": rng.choice(["phone", "chat"]), "product": "router"} for e in emails],
    )
    for _ in range(6):  # several batches, as the group-commit writer makes them
        store(sessions, _random_rows(rng, 60, tokens))
    return emails


def test_rollups_equal_a_recount_after_submissions_erasures_and_retention(
    sessions: sessionmaker[Session], busy: list[str]
) -> None:
    kept = _snapshot(sessions)
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    _assert_same(kept, _snapshot(sessions))

    for email in busy[:10]:  # erase customers who answered through their invitation
        with transaction(sessions) as session:
            erase_customer(session, b"k" * 32, IdentifierKind.EMAIL, email, requested_by="test", via="cli")
    retain_text(sessions, days=30, now=START + timedelta(days=61))
    store(sessions, _random_rows(random.Random(8), 50, []))
    kept = _snapshot(sessions)
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    _assert_same(kept, _snapshot(sessions))


QUERIES = [
    MetricsQuery(
        by=("product",),
        filters={"channel": ("phone",)},
        period=Period.WEEK,
        since=START + timedelta(days=2, hours=3),
        until=START + timedelta(days=40),
    ),
    MetricsQuery(by=("channel",), period=Period.WEEK, since=START, until=START + timedelta(days=60)),
    MetricsQuery(
        by=("department", "product"), since=START + timedelta(hours=7), until=START + timedelta(days=50)
    ),
    MetricsQuery(
        period=Period.DAY, since=START + timedelta(days=3, hours=5), until=START + timedelta(days=9)
    ),
    MetricsQuery(
        metrics=("nps", "csat", "ces", "fcr", "sentiment", "response_rate"),
        filters={"channel": ("phone", "chat")},
        period=Period.MONTH,
        since=START,
        until=START + timedelta(days=45, minutes=13),
    ),
    MetricsQuery(
        by=("survey",), since=START + timedelta(days=1, hours=23), until=START + timedelta(days=2, hours=1)
    ),
]


def _from_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rollups, "grain_for", lambda *args: None)


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_metrics_from_rollups_equal_metrics_from_rows(
    sessions: sessionmaker[Session], busy: list[str], monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    query = QUERIES[index]
    with sessions() as session:
        counted = compute_metrics(session, query).table
    assert counted.height > 0
    _from_rows(monkeypatch)
    with sessions() as session:
        read = compute_metrics(session, query).table
    assert_frame_equal(counted, read, check_dtypes=False, abs_tol=1e-9)


def test_a_dashboards_queries_read_together_equal_each_from_rows(
    sessions: sessionmaker[Session], busy: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with sessions() as session:
        together = [r.table for r in compute_many(session, QUERIES)]
    _from_rows(monkeypatch)
    with sessions() as session:
        alone = [compute_metrics(session, q).table for q in QUERIES]
    for a, b in zip(together, alone, strict=True):
        assert_frame_equal(a, b, check_dtypes=False, abs_tol=1e-9)


def test_plan_reads_whole_days_from_rollups_and_the_edges_from_rows() -> None:
    def t(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, minute, tzinfo=UTC)

    plan = rollups.plan([t(3, 15, 30), t(6, 15, 30), t(4, 17, 30)])
    assert plan.days == [(t(5, 0).date(), t(6, 0).date())]
    # Each range of rows within one day and between two boundaries.
    assert plan.rows == [
        (t(3, 15, 30), t(4, 0)),
        (t(4, 0), t(4, 17, 30)),
        (t(4, 17, 30), t(5, 0)),
        (t(6, 0), t(6, 15, 30)),
    ]


def test_partial_responses_saved_again_and_completed_are_counted_once_as_they_end(
    sessions: sessionmaker[Session],
) -> None:
    """A score clicked in an e-mail is a partial response, updated in place by another click and by Send:
    the rollups count each response once, with the scores and comment it has now."""
    factories.survey(sessions)
    tokens = factories.invite(
        sessions, [{"email": f"p{i}@example.com", "channel": "phone"} for i in range(6)]
    )
    at = START + timedelta(days=3, hours=9)

    def save(token: str, answers: dict[str, Any], partial: bool) -> None:
        submission = Submission(
            answers=answers, via="web", submitted_at=at, token=token, partial=partial, language="en"
        )
        [outcome] = store_batch(sessions, [submission], SurveyCache(), 5000)
        assert isinstance(outcome, Stored), outcome

    for token in tokens:
        save(token, {"nps": 2}, partial=True)
    for token in tokens[:4]:
        save(token, {"nps": 9}, partial=True)  # another click
    for token in tokens[:3]:
        save(token, {"nps": 10, "csat": 5, "comment": "Great help, thank you"}, partial=False)  # Send
    kept = _snapshot(sessions)
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    _assert_same(kept, _snapshot(sessions))
    with sessions() as session:
        table = compute_metrics(
            session, MetricsQuery(metrics=("nps", "volume"), since=START, until=START + timedelta(days=5))
        ).table
    values = {r["metric"]: (r["value"], r["n"]) for r in table.iter_rows(named=True)}
    assert values["volume"] == (6, 6)
    assert values["nps"][1] == 6 and values["nps"][0] == pytest.approx(
        100 * (4 - 2) / 6
    )  # 10,10,10,9,9 vs 2,2
