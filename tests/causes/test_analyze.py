"""`feedback analyze` on a real database (SQLite and PostgreSQL): identity, decisions, ledger, failures."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.causes.engines import Space, pick_engine
from feedback.analysis.causes.taxonomy import CauseSpec, Taxonomy
from feedback.causes import analyze as analyze_module
from feedback.causes import decisions
from feedback.causes.analyze import AnalyzeOptions, analyze
from feedback.causes.taxonomy import load_taxonomy
from feedback.db import transaction
from feedback.errors import Conflict
from feedback.models import (
    AnalysisRun,
    Cause,
    CauseAssignment,
    CauseEvent,
    CauseLedger,
    CauseStatus,
    RunState,
)
from tests.causes.corpus import texts
from tests.causes.helpers import add_responses, setup_survey

OPTIONS = AnalyzeOptions(engine="default", min_size=5)


def _candidates(sessions: sessionmaker[Session]) -> dict[str, Cause]:
    with sessions() as session:
        rows = session.scalars(select(Cause).where(Cause.origin == "discovered")).all()
        return {c.label: c for c in rows}


def _by_word(causes: dict[str, Cause], word: str) -> Cause:
    """The cause whose name or verbatims say ``word`` (a name is a phrase of its texts, maybe another)."""
    found = [c for label, c in causes.items() if word in " ".join([label, *c.verbatims])]
    assert len(found) == 1, (word, list(causes))
    return found[0]


def test_a_second_run_with_more_data_keeps_the_ids_and_records_growth(
    sessions: sessionmaker[Session],
) -> None:
    survey, question, _ = setup_survey(sessions)
    add_responses(sessions, survey, question, texts("late", 8) + texts("crash", 8))
    add_responses(sessions, survey, question, ["great service, thanks"] * 3, nps=10)  # not negative
    first = analyze(sessions, OPTIONS)
    assert first.items_negative == 16 and first.items_clustered == 16
    before = _candidates(sessions)
    late, crash = _by_word(before, "late"), _by_word(before, "crash")
    assert late.status == CauseStatus.CANDIDATE and late.size == 8
    add_responses(sessions, survey, question, texts("late", 8, offset=8), week=1)
    add_responses(sessions, survey, question, texts("crash", 2, offset=8), week=1)
    second = analyze(sessions, OPTIONS)
    with sessions() as session:
        again = {c.key: c for c in session.scalars(select(Cause).where(Cause.origin == "discovered"))}
        events = session.scalars(select(CauseEvent).where(CauseEvent.run_id == second.run_id)).all()
    # Same keys, same causes: "late" grew (or grew and split in two; the part keeps the parent's id).
    for cause, word in ((again[late.key], "late"), (again[crash.key], "crash")):
        assert word in " ".join([cause.label, *cause.verbatims])
    by_id = {c.id: c for c in again.values()}
    parts = [by_id[e.cause_id].size for e in events if e.kind == "split" and e.related_cause_id == late.id]
    # A few phrasings may stay below the repeat threshold.
    assert 12 <= again[late.key].size + sum(parts) <= 16
    kinds = {e.kind for e in events}
    assert kinds & {"grew", "split"} and "new" not in kinds
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CauseAssignment)) == second.items_clustered
        runs = session.scalars(select(AnalysisRun.state)).all()
    assert runs == [RunState.COMPLETE, RunState.COMPLETE]


def test_a_run_on_the_same_data_changes_nothing(sessions: sessionmaker[Session]) -> None:
    survey, question, _ = setup_survey(sessions)
    add_responses(sessions, survey, question, texts("late", 8) + texts("charge", 8))
    analyze(sessions, OPTIONS)
    first = {c.key: (c.label, c.size) for c in _candidates(sessions).values()}
    again = analyze(sessions, OPTIONS)
    assert {c.key: (c.label, c.size) for c in _candidates(sessions).values()} == first
    assert again.changes == {}


def test_a_dismissed_candidate_does_not_come_back(sessions: sessionmaker[Session]) -> None:
    survey, question, _ = setup_survey(sessions)
    add_responses(sessions, survey, question, texts("rude", 8) + texts("late", 8))
    analyze(sessions, OPTIONS)
    rude = _by_word(_candidates(sessions), "rude")
    with transaction(sessions) as session:
        decisions.dismiss(session, rude.key, actor="admin", reason="handled by HR, not a product cause")
    add_responses(sessions, survey, question, texts("rude", 6, offset=8), week=1)
    analyze(sessions, OPTIONS)
    with sessions() as session:
        statuses = dict(
            session.execute(select(Cause.key, Cause.status).where(Cause.origin == "discovered")).all()
        )
        candidates = [k for k, s in statuses.items() if s == CauseStatus.CANDIDATE]
        labels = [session.scalar(select(Cause.label).where(Cause.key == k)) or "" for k in candidates]
    assert statuses[rude.key] == CauseStatus.DISMISSED
    assert not any("rude" in label for label in labels)


def test_an_accepted_candidate_becomes_a_cause_with_its_owner(sessions: sessionmaker[Session]) -> None:
    survey, question, ids = setup_survey(sessions)
    add_responses(sessions, survey, question, texts("charge", 8), department_id=ids["billing"])
    add_responses(sessions, survey, question, texts("crash", 8), department_id=ids["support"])
    analyze(sessions, OPTIONS)
    charge = _by_word(_candidates(sessions), "charge")
    assert charge.suggested_department_id == ids["billing"]  # its items came from billing
    with transaction(sessions) as session:
        decisions.accept(
            session, charge.key, "billing", actor="admin", name="Charged twice", new_key="double-charge"
        )
    add_responses(sessions, survey, question, texts("charge", 4, offset=8), week=1)
    analyze(sessions, OPTIONS)
    with sessions() as session:
        cause = session.scalar(select(Cause).where(Cause.key == "double-charge"))
        assert (
            cause is not None and cause.status == CauseStatus.ACTIVE and cause.department_id == ids["billing"]
        )
        methods = set(
            session.scalars(select(CauseAssignment.method).where(CauseAssignment.cause_id == cause.id))
        )
        assert cause.size >= 10 and methods == {"taxonomy"}
        kinds = list(session.scalars(select(CauseEvent.kind).where(CauseEvent.cause_id == cause.id)))
    assert "accepted" in kinds


def test_taxonomy_causes_get_their_feedback_and_a_ledger(sessions: sessionmaker[Session]) -> None:
    survey, question, _ = setup_survey(sessions)
    late = CauseSpec(
        id="late-delivery", name="Late delivery", department="logistics", keywords=("late", "delayed")
    )
    with transaction(sessions) as session:
        report = load_taxonomy(session, Taxonomy((late,)))
    assert report.created == 1
    add_responses(sessions, survey, question, texts("late", 6), nps=2)
    add_responses(sessions, survey, question, texts("late", 4, offset=6), nps=2, week=1)
    add_responses(sessions, survey, question, ["all fine"] * 4, nps=10, week=1)
    analyze(sessions, OPTIONS)
    with sessions() as session:
        cause = session.scalar(select(Cause).where(Cause.key == "late-delivery"))
        assert cause is not None and cause.size == 10
        ledger = session.scalars(
            select(CauseLedger).where(CauseLedger.cause_id == cause.id).order_by(CauseLedger.period_start)
        ).all()
    assert [(r.count, r.trend) for r in ledger] == [(6, "new"), (4, "shrinking")]
    # Week 1: 4 of 8 responses raised it (NPS -100), the other 4 are promoters (+100): 200 x 4/8 = 100 points.
    assert ledger[1].share == pytest.approx(0.5)
    assert ledger[1].nps_points_lost == pytest.approx(100.0)
    assert ledger[0].nps_points_lost is None  # nobody in week 0 did not raise it


def test_a_failed_run_leaves_the_previous_results_intact(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    survey, question, _ = setup_survey(sessions)
    add_responses(sessions, survey, question, texts("late", 8) + texts("crash", 8))
    analyze(sessions, OPTIONS)
    with sessions() as session:
        before = sorted(session.execute(select(CauseAssignment.cause_id, CauseAssignment.response_id)))
        ledger_before = session.scalar(select(func.count()).select_from(CauseLedger))
    add_responses(sessions, survey, question, texts("charge", 8), week=1)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(analyze_module, "write_ledger", broken)  # fails after assignments were rewritten
    with pytest.raises(RuntimeError, match="disk full"):
        analyze(sessions, OPTIONS)
    with sessions() as session:
        after = sorted(session.execute(select(CauseAssignment.cause_id, CauseAssignment.response_id)))
        assert after == before
        assert session.scalar(select(func.count()).select_from(CauseLedger)) == ledger_before
        assert not any("charge" in (c.label or "") for c in session.scalars(select(Cause)))
        failed = session.scalars(select(AnalysisRun).order_by(AnalysisRun.id)).all()[-1]
    assert failed.state == RunState.FAILED and "disk full" in (failed.error or "")


class _RunsAnotherAnalysisFirst:
    """An engine that, when the outer run starts computing, lets a whole other run start and complete."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.inner = pick_engine("default")
        self.name, self.stable_space = self.inner.name, self.inner.stable_space
        self.sessions = sessions

    def fit(self, corpus: Sequence[str]) -> Space:
        analyze(self.sessions, OPTIONS)  # another machine's cron, say
        return self.inner.fit(corpus)


def test_two_runs_at_once_never_create_the_same_candidates_twice(sessions: sessionmaker[Session]) -> None:
    survey, question, _ = setup_survey(sessions)
    add_responses(sessions, survey, question, texts("late", 8) + texts("crash", 8))
    with pytest.raises(Conflict, match="completed while run 1 was computing"):
        analyze(sessions, OPTIONS, engine=_RunsAnotherAnalysisFirst(sessions))
    with sessions() as session:
        runs = [(r.id, r.state) for r in session.scalars(select(AnalysisRun).order_by(AnalysisRun.id))]
        labels = [c.label for c in session.scalars(select(Cause).where(Cause.origin == "discovered"))]
        failed = session.get(AnalysisRun, 1)
        assert failed is not None and "its results stand" in (failed.error or "")
    assert runs == [(1, RunState.FAILED), (2, RunState.COMPLETE)]
    assert len(labels) == 2  # late and crash, once each
    again = analyze(sessions, OPTIONS)  # the next run goes through
    assert again.changes == {}


def test_a_run_killed_half_way_is_marked_failed_by_the_next(sessions: sessionmaker[Session]) -> None:
    survey, question, _ = setup_survey(sessions)
    add_responses(sessions, survey, question, texts("late", 8))
    with transaction(sessions) as session:
        session.add(AnalysisRun(state=RunState.RUNNING, engine="default", params={}))
    analyze(sessions, OPTIONS)
    with sessions() as session:
        states = list(session.scalars(select(AnalysisRun.state).order_by(AnalysisRun.id)))
    assert states == [RunState.FAILED, RunState.COMPLETE]
