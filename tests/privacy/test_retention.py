"""Old free text is dropped in committed batches; scores and sentiment stay; a crash leaves whole batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from feedback import scheduler
from feedback.cli import main
from feedback.config import Settings
from feedback.db import transaction
from feedback.models import Alert, Answer, Cause, DigestRun, Mention, Response
from feedback.privacy import retention
from feedback.privacy.retention import retain_text
from tests import factories
from tests.privacy.data import as_quoted, mention, quoting_alert, quoting_digest, respond

NOW = datetime.now(UTC).replace(microsecond=0)


def _seed(sessions: Any, old: int, new: int) -> None:
    factories.survey(sessions)
    with transaction(sessions) as session:
        department_id = factories_department(session)
        for i in range(old):
            respond(
                session,
                NOW - timedelta(days=40, minutes=i),
                i % 11,
                f"old comment {i} call +49 30 1234 567{i % 10}",
            )
            session.add(mention(NOW - timedelta(days=40, minutes=i), f"old post {i}"))
        for i in range(new):
            respond(session, NOW - timedelta(days=1, minutes=i), 10, f"new comment {i}")
            session.add(mention(NOW - timedelta(days=1, minutes=i), f"new post {i}"))
        session.add(
            Cause(
                key="c",
                name="C",
                status="active",
                origin="taxonomy",
                verbatims=["old comment 0 call +49 30 1234 5670", "new comment 0"],
            )
        )
        session.add(
            quoting_digest(
                department_id,
                NOW - timedelta(days=47),
                NOW - timedelta(days=40),
                ["old comment 1 call +49 30 1234 5671"],
            )
        )
        session.add(
            quoting_digest(department_id, NOW - timedelta(days=8), NOW - timedelta(days=1), ["new comment 1"])
        )
        session.add(quoting_alert(NOW - timedelta(days=40), ["old comment 2 call +49 30 1234 5672"]))
        session.add(quoting_alert(NOW - timedelta(days=1), ["new comment 2"]))


def factories_department(session: Any) -> int:
    from feedback.models import Department

    return session.scalars(select(Department.id)).one()


def _texts(session: Any) -> tuple[list[str], list[str]]:
    answers = session.scalars(select(Answer.text).where(Answer.text.is_not(None)).order_by(Answer.text)).all()
    mentions = session.scalars(select(Mention.text).where(Mention.text != "").order_by(Mention.text)).all()
    return list(answers), list(mentions)


def test_old_text_goes_scores_and_new_text_stay(sessions) -> None:
    _seed(sessions, old=25, new=3)
    counts = retain_text(sessions, 30, NOW, batch_size=7)
    assert counts["answers"] == 25 and counts["mentions"] == 25
    assert counts["digest_runs"] == 1 and counts["alerts"] == 1
    with sessions() as session:
        answers, mentions = _texts(session)
        assert answers == [f"new comment {i}" for i in range(3)]
        assert mentions == [f"new post {i}" for i in range(3)]
        # every score and sentiment number is still there
        assert session.scalar(select(func.count()).where(Response.nps.is_not(None))) == 28
        assert session.scalar(select(func.count()).where(Answer.polarity.is_not(None))) == 28
        assert session.scalar(select(func.count()).where(Mention.polarity.is_not(None))) == 28
        assert session.scalars(select(Cause.verbatims)).one() == ["new comment 0"]
        old_run, new_run = session.scalars(select(DigestRun).order_by(DigestRun.period_end)).all()
        assert "old comment 1" not in f"{old_run.content}{old_run.html}{old_run.text}"
        assert old_run.content["headline"] == [{"metric": "nps", "value": 12.0}]
        assert as_quoted("new comment 1") in new_run.text
        old_alert, new_alert = session.scalars(select(Alert).order_by(Alert.fired_at)).all()
        assert "old comment 2" not in f"{old_alert.detail}{old_alert.html}{old_alert.text}"
        assert "[quote removed]" in old_alert.html and "new comment 2" in new_alert.html
    again = retain_text(sessions, 30, NOW, batch_size=7)
    assert {k: v for k, v in again.items() if k != "cutoff"} == {
        "answers": 0, "mentions": 0, "digest_runs": 0, "alerts": 0,
    }  # fmt: skip


def test_zero_days_keeps_everything(sessions) -> None:
    _seed(sessions, old=3, new=1)
    assert retain_text(sessions, 0, NOW)["answers"] == 0
    with sessions() as session:
        assert len(_texts(session)[0]) == 4


def test_a_crash_leaves_whole_batches_and_a_rerun_finishes(sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(sessions, old=20, new=0)
    real = retention._answers_batch
    calls = {"n": 0}

    def crash_on_third(session: Any, cutoff: datetime, size: int) -> int:
        calls["n"] += 1
        done = real(session, cutoff, size)
        if calls["n"] == 3:
            session.flush()
            raise RuntimeError("killed mid-batch")
        return done

    monkeypatch.setattr(retention, "_answers_batch", crash_on_third)
    with pytest.raises(RuntimeError):
        retain_text(sessions, 30, NOW, batch_size=6)
    with sessions() as session:
        assert len(_texts(session)[0]) == 20 - 12  # two whole batches committed, the third rolled back
    monkeypatch.setattr(retention, "_answers_batch", real)
    assert retain_text(sessions, 30, NOW, batch_size=6)["answers"] == 8
    with sessions() as session:
        assert _texts(session)[0] == []


def test_the_scheduler_job_and_the_cli_run_it(
    database_url, sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(sessions, old=3, new=1)
    monkeypatch.setattr(scheduler.CONTEXT, "sessions", sessions)
    monkeypatch.setattr(
        scheduler.CONTEXT, "settings", Settings(database_url=database_url, retention_text_days=30)
    )
    assert "retention" in scheduler.JOBS
    scheduler.interval_job("retention")
    with sessions() as session:
        assert _texts(session)[0] == ["new comment 0"]
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.delenv("FEEDBACK_RETENTION_TEXT_DAYS", raising=False)
    out = CliRunner().invoke(main, ["privacy", "retain"])
    assert out.exit_code == 0 and "kept forever" in out.output
    out = CliRunner().invoke(main, ["privacy", "retain", "--days", "0"])
    assert "kept forever" in out.output
    monkeypatch.setenv("FEEDBACK_RETENTION_TEXT_DAYS", "0")
    out = CliRunner().invoke(main, ["privacy", "retain", "--days", "1"])
    assert out.exit_code == 0 and "answers: 1" in out.output and "mentions: 1" in out.output
