"""One definition of "dissatisfied": metrics, dashboards, alerts, digests, causes and the sentiment model
count the same customers on the same data, with the default cut-offs and with a company's own (settings)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.scales import Bands, Cutoffs
from feedback.causes.analyze import AnalyzeOptions, analyze
from feedback.config import Settings
from feedback.dashboards.filters import PageFilters
from feedback.dashboards.panels import verbatims_frame
from feedback.dashboards.spec import PanelSpec
from feedback.db import transaction
from feedback.digests import alerts
from feedback.digests.numbers import headlines
from feedback.metrics import rollups
from feedback.metrics.service import DriversQuery, MetricsQuery, compute_drivers, compute_metrics
from feedback.models import Answer, Question, Response, Survey
from feedback.models.rollup import response_rollups
from feedback.responses.dissatisfied import survey_cutoffs
from feedback.sentiment.service import labelled_comments, train_from_database
from feedback.surveys.service import load_survey, parse_survey_spec
from feedback.surveys.view import unhappy
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


def _seed(sessions: sessionmaker[Session], **spec: object) -> int:
    """FEEDBACK as answers to one survey (``spec``: its changes), each comment prefixed by the survey's slug
    when it is not the default one."""
    survey = factories.survey(sessions, **spec)
    prefix = f"{survey.slug}: " if spec else ""
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
                    channel="phone",
                )
            )
            session.flush()
            session.add(Answer(response_id=rid, question_id=comment, text=prefix + text, polarity=polarity))
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


# Two surveys of one department on the same answers: "plain" keeps the company's CSAT bands, "strict" counts a
# CSAT of 3 as dissatisfied and only a 5 as satisfied (and a 4 as neutral).
STRICT = {"csat": [3, 5]}


def _spec(slug: str, bands: dict[str, list[int]] | None) -> dict[str, object]:
    return {"slug": slug, **({"bands": bands} if bands else {})}


def _own(company: Settings, bands: dict[str, list[int]] | None) -> Cutoffs:
    """The company's cut-offs with these bands instead."""
    return company.cutoffs.with_surveys({1: {k: Bands(*v) for k, v in (bands or {}).items()}}).for_survey(1)


def _expected(company: Settings, slug: str, bands: dict[str, list[int]] | None) -> tuple[set[str], int, int]:
    """(dissatisfied comments, satisfied CSATs, CSATs) of one survey's copy of FEEDBACK, by its bands."""
    own = _own(company, bands)
    unhappy_ = {f"{slug}: {t}" for nps, csat, ces, p, t in FEEDBACK if own.is_dissatisfied(nps, csat, ces, p)}
    csats = [csat for _, csat, _, _, _ in FEEDBACK if csat is not None]
    return unhappy_, sum(own.band("csat", c) == "high" for c in csats), len(csats)


def _rollup_rows(sessions: sessionmaker[Session]) -> list[tuple[object, ...]]:
    with sessions() as session:
        return sorted(tuple(r) for r in session.execute(select(response_rollups)))


@pytest.mark.parametrize("config", list(CONFIGS))
def test_each_survey_counts_by_its_own_bands_everywhere(database_url, sessions, monkeypatch, config) -> None:
    for name, value in CONFIGS[config].items():
        monkeypatch.setenv(name, value)
    settings = Settings(database_url=database_url, causes_engine="default", metrics_min_n=1)
    department_id = _seed(sessions, **_spec("plain", None))
    _seed(sessions, **_spec("strict", STRICT))
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())  # the rows went around the services
    plain, strict = _expected(settings, "plain", None), _expected(settings, "strict", STRICT)
    expected = plain[0] | strict[0]
    assert strict[0] - plain[0] and strict[1] < plain[1]  # the bands make a difference on this data
    start, end = AT - timedelta(days=1), AT + timedelta(days=1)
    whole_days = (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC))

    with sessions() as session:
        survey_ids = {slug: id_ for slug, id_ in session.execute(select(Survey.slug, Survey.id))}
        assert survey_cutoffs(session, settings.cutoffs).of("csat", survey_ids["strict"]) == Bands(3, 5)
        # metrics: dissatisfied share (rows), CSAT by survey from the rows and from the rollups (whole days)
        query = MetricsQuery(metrics=("dissatisfied",), since=start, until=end, min_n=1)
        (row,) = compute_metrics(session, query).table.iter_rows(named=True)
        assert round(row["value"] * row["n"] / 100) == len(expected)
        for since, until in ((start, end), whole_days):
            query = MetricsQuery(metrics=("csat",), by=("survey",), since=since, until=until, min_n=1)
            got = {
                r["survey"]: round(r["value"] * r["n"] / 100)
                for r in compute_metrics(session, query).table.iter_rows(named=True)
            }
            assert got == {"plain": plain[1], "strict": strict[1]}, (since, got)
        query = MetricsQuery(metrics=("csat",), since=whole_days[0], until=whole_days[1], min_n=1)
        (row,) = compute_metrics(session, query).table.iter_rows(named=True)
        assert round(row["value"] * row["n"] / 100) == plain[1] + strict[1]
        # drivers: the CSAT of the customers who came by phone (all of them)
        drivers = compute_drivers(session, DriversQuery("csat", "channel", since=start, until=end, min_n=1))
        (group,) = drivers.groups
        assert group.value is not None and round(group.value * group.n / 100) == plain[1] + strict[1]
        # digests
        (headline,) = [
            h
            for h in headlines(session, ["support"], start, end, "UTC", 1)["support"]
            if h.metric == "dissatisfied"
        ]
        assert headline.value is not None and round(headline.value * headline.n / 100) == len(expected)
        # dashboards
        panel = PanelSpec("v", "Unhappy", "verbatims", "table", limit=100, negative_only=True)
        shown = verbatims_frame(session, panel, PageFilters(date(2026, 11, 1), date(2026, 11, 30)), None)
        assert set(shown["text"]) == expected
        # alerts
        _, negative = alerts._counts(session, start, end, survey_cutoffs(session, settings.cutoffs))
        assert negative == {department_id: len(expected)}
        # sentiment: the labels the model learns from
        scored = {
            f"{slug}: {text}"
            for slug in ("plain", "strict")
            for nps, csat, ces, _, text in FEEDBACK
            if (nps, csat, ces) != (None, None, None)
        }
        rule = survey_cutoffs(session, settings.cutoffs)
        labelled = {text for text, dissatisfied in labelled_comments(session, rule) if dissatisfied}
        assert labelled == expected & scored
        assert train_from_database(session, min_rows=1000).dissatisfied_rows == len(expected & scored)
        # the survey page: whom it asks what went wrong
        surveys = {s.slug: s for s in session.scalars(select(Survey))}
        for slug, bands in (("plain", None), ("strict", STRICT)):
            asked = [unhappy(surveys[slug], {"csat": str(score)}) for score in range(1, 6)]
            assert asked == [_own(settings, bands).band("csat", score) == "low" for score in range(1, 6)]
    # causes
    assert analyze(sessions, AnalyzeOptions.from_settings(settings)).items_negative == len(expected)


def test_changing_a_surveys_bands_recounts_from_the_same_rollups(database_url, sessions) -> None:
    """Rollups keep score histograms: new bands change every figure at once, and the rollups still equal a
    recomputation from the rows."""
    settings = Settings(database_url=database_url, metrics_min_n=1)
    _seed(sessions, **_spec("plain", None))
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    before = _rollup_rows(sessions)
    whole_days = (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC))

    def satisfied() -> int:
        query = MetricsQuery(metrics=("csat",), since=whole_days[0], until=whole_days[1], min_n=1)
        with sessions() as session:
            (row,) = compute_metrics(session, query).table.iter_rows(named=True)
        return round(row["value"] * row["n"] / 100)

    assert satisfied() == _expected(settings, "plain", None)[1]
    with transaction(sessions) as session:
        load_survey(session, parse_survey_spec(factories.survey_spec(**_spec("plain", STRICT))))
    assert satisfied() == _expected(settings, "plain", STRICT)[1] < _expected(settings, "plain", None)[1]
    assert _rollup_rows(sessions) == before
    with transaction(sessions) as session:
        rollups.rebuild(session.connection())
    assert _rollup_rows(sessions) == before
