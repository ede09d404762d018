"""One definition of "dissatisfied": metrics, dashboards, alerts, digests, causes and the sentiment model
count the same customers on the same data, with the default cut-offs and with a company's own (settings)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.db import transaction
from feedback.models import Answer, Question, Response
from feedback.services import rollups
from feedback.services.causes.analyze import AnalyzeOptions, analyze
from feedback.services.dashboards.filters import PageFilters
from feedback.services.dashboards.panels import verbatims_frame
from feedback.services.dashboards.spec import PanelSpec
from feedback.services.digests import alerts
from feedback.services.digests.numbers import headlines
from feedback.services.metrics import MetricsQuery, compute_metrics
from feedback.services.sentiment import labelled_comments, train_from_database
from tests import factories

AT = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
FEEDBACK = [  # nps, csat, ces, comment polarity, comment
    (6, None, None, 0.5, "a detractor with kind words"),
    (7, None, None, -0.8, "a passive with angry words"),
    (None, 3, None, -0.3, "a neutral csat of three"),
    (None, 2, None, 0.4, "a csat of two"),
    (9, 5, 3, 0.2, "a promoter for whom it was hard work"),
    (None, None, 4, -0.6, "an effort score in the middle"),
    (None, None, None, -0.4, "no score and an angry comment"),
    (None, None, None, -0.02, "no score and a barely negative comment"),
    (10, 5, 7, -0.9, "a promoter with an angry comment"),
    (8, 4, 5, None, "scores and a comment without polarity"),
]
CONFIGS = {
    "industry defaults": {},
    "a company whose 3 is unhappy": {"FEEDBACK_CSAT_BANDS": "3,4", "FEEDBACK_NEGATIVE_POLARITY": "0"},
}


def _seed(sessions: sessionmaker[Session]) -> int:
    survey = factories.survey(sessions)
    with transaction(sessions) as session:
        comment = session.scalar(
            select(Question.id).where(Question.survey_id == survey.id, Question.key == "comment")
        )
        for n, (nps, csat, ces, polarity, text) in enumerate(FEEDBACK):
            rid = uuid.uuid4()
            session.add(
                Response(
                    id=rid,
                    survey_id=survey.id,
                    via="api",
                    submitted_at=AT + timedelta(minutes=n),
                    nps=nps,
                    csat=csat,
                    ces=ces,
                    department_id=survey.department_id,
                )
            )
            session.flush()
            session.add(Answer(response_id=rid, question_id=comment, text=text, polarity=polarity))
        session.flush()  # rows written around the services: count them (by the cut-offs of the settings)
        rollups.rebuild(session.connection())
    return survey.department_id


@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_surface_counts_the_same_customers(database_url, sessions, monkeypatch, config) -> None:
    for name, value in CONFIGS[config].items():
        monkeypatch.setenv(name, value)
    settings = Settings(database_url=database_url, causes_engine="default", metrics_min_n=1)
    cutoffs = settings.cutoffs
    department_id = _seed(sessions)
    expected = {
        text
        for nps, csat, ces, polarity, text in FEEDBACK
        if cutoffs.is_dissatisfied(nps, csat, ces, polarity)
    }
    assert 4 <= len(expected) < len(FEEDBACK)
    start, end = AT - timedelta(days=1), AT + timedelta(days=1)

    with sessions() as session:
        # metrics: the dissatisfied share and its n
        query = MetricsQuery(metrics=("dissatisfied",), since=start, until=end, min_n=1)
        (row,) = compute_metrics(session, query).table.iter_rows(named=True)
        assert round(row["value"] * row["n"] / 100) == len(expected) and row["n"] == len(FEEDBACK)
        # digests: the same figure as a headline
        (headline,) = [
            h
            for h in headlines(session, ["support"], start, end, "UTC", 1)["support"]
            if h.metric == "dissatisfied"
        ]
        assert headline.value is not None and round(headline.value * headline.n / 100) == len(expected)
        # dashboards: a verbatims panel of unhappy customers only
        panel = PanelSpec("v", "Unhappy", "verbatims", "table", limit=100, negative_only=True)
        shown = verbatims_frame(session, panel, PageFilters(date(2026, 11, 1), date(2026, 11, 30)), None)
        assert set(shown["text"]) == expected
        # alerts: the count a spike of unhappy customers is judged on
        _, unhappy = alerts._counts(session, start, end, settings.cutoffs)
        assert unhappy == {department_id: len(expected)}
        # sentiment: the labels the model learns from (comments with a score), and its judgement of text
        # without a score when it has only TextBlob (the stored polarity stands in for TextBlob's here)
        scored = {text for nps, csat, ces, _, text in FEEDBACK if (nps, csat, ces) != (None, None, None)}
        labelled = {text for text, dissatisfied in labelled_comments(session, cutoffs) if dissatisfied}
        assert labelled == expected & scored
        model = train_from_database(session, min_rows=1000)
        assert model.dissatisfied_rows == len(expected & scored) and model.kind == "textblob"
        unscored = [(text, p) for nps, csat, ces, p, text in FEEDBACK if text not in scored]
        polarity = np.array([p for _, p in unscored])
        judged = model.dissatisfied((1 - polarity) / 2, polarity)
        assert {
            text for (text, _), unhappy in zip(unscored, judged, strict=True) if unhappy
        } == expected - scored
    # causes: the negative items an analysis run looks at
    summary = analyze(sessions, AnalyzeOptions.from_settings(settings))
    assert summary.items_negative == len(expected)
