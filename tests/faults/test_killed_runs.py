"""An analysis run and a digest killed with SIGKILL half-way, then run again.

The analysis run shows nothing of itself until it completes (the previous run's results stay, the killed
run is marked failed by the next one). A digest goes out once: a rerun of `feedback digest send` does not
send a second digest beside the interrupted one, and the scheduler delivers the interrupted one once its
claim expires. Kill points: feedback.faults (FEEDBACK_TEST_PAUSE_AT)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.models import AnalysisRun, CauseAssignment, CauseLedger, Delivery, DigestRun, RunState
from feedback.scheduler import run_once
from tests.causes.helpers import add_responses, setup_survey
from tests.digests import data
from tests.digests.servers import smtp_server
from tests.faults import cli

LATE = "my parcel arrived late again, the courier was two days late"
CHARGE = "I was charged twice for one order and nobody refunds the double charge"


def runs(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    with sessions() as session:
        return [(r.id, str(r.state)) for r in session.scalars(select(AnalysisRun).order_by(AnalysisRun.id))]


def results(sessions: sessionmaker[Session]) -> tuple[set[int], set[int], int]:
    """The run ids behind the visible assignments and ledger rows, and how many assignments there are."""
    with sessions() as session:
        assigned = set(session.scalars(select(CauseAssignment.run_id).distinct()))
        ledger = set(session.scalars(select(CauseLedger.run_id).distinct()))
        total = int(session.scalar(select(func.count()).select_from(CauseAssignment)) or 0)
    return assigned, ledger, total


def test_analysis_killed_while_writing_its_results(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    survey, question, _ = setup_survey(sessions)
    add_responses(sessions, survey, question, [f"{LATE} ({i})" for i in range(30)])
    add_responses(sessions, survey, question, [f"{CHARGE} ({i})" for i in range(30)], week=1)
    args = ["analyze", "--engine", "default"]
    first = cli.run(args, cli.environment(database_url))
    assert first.returncode == 0, first.stderr
    [(run1, state1)] = runs(sessions)
    before = results(sessions)
    assert state1 == RunState.COMPLETE and before[0] == {run1} and before[2] > 0

    add_responses(sessions, survey, question, [f"{LATE}, again ({i})" for i in range(20)], week=2)
    killed = cli.start(args, cli.environment(database_url, FEEDBACK_TEST_PAUSE_AT="analyze.write"))
    cli.kill_at_pause(killed, "analyze.write")
    assert runs(sessions) == [(run1, RunState.COMPLETE), (run1 + 1, RunState.RUNNING)]
    assert results(sessions) == before  # nothing of the killed run is visible

    again = cli.run(args, cli.environment(database_url))
    assert again.returncode == 0, again.stderr
    assert runs(sessions) == [
        (run1, RunState.COMPLETE),
        (run1 + 1, RunState.FAILED),
        (run1 + 2, RunState.COMPLETE),
    ]
    assigned, ledger, total = results(sessions)
    assert assigned == ledger == {run1 + 2} and total == before[2] + 20
    with sessions() as session:
        failed = session.get(AnalysisRun, run1 + 1)
        assert failed is not None and failed.error and "interrupted" in failed.error


def digest_env(database_url: str, port: int, tmp_path: Path, **extra: str) -> dict[str, str]:
    return cli.environment(
        database_url,
        FEEDBACK_SMTP_HOST="127.0.0.1",
        FEEDBACK_SMTP_PORT=str(port),
        FEEDBACK_SMTP_SECURITY="none",
        FEEDBACK_SMTP_FROM="feedback@example.com",
        FEEDBACK_DIGEST_CHARTS="0",
        FEEDBACK_DATA_DIR=str(tmp_path),
        **extra,
    )


def test_digest_killed_before_sending_goes_out_once(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    data.department(sessions, schedule=None)
    send = ["digest", "send", "--department", "support"]
    with smtp_server() as smtp:
        env = digest_env(database_url, smtp.port, tmp_path)
        killed = cli.start(send, {**env, "FEEDBACK_TEST_PAUSE_AT": "digest.claimed"})
        cli.kill_at_pause(killed, "digest.claimed")
        assert smtp.inbox == []

        again = cli.run(send, env)  # the same command again: no second digest beside the interrupted one
        assert again.returncode == 1 and "still being sent" in again.stderr
        assert cli.run(["scheduler", "--once"], env).returncode == 0  # the claim has not expired yet
        assert smtp.inbox == []

        later = datetime.now(UTC) + timedelta(minutes=6)  # the killed sender's claim has expired
        run_once(sessions, data.settings_for(database_url, smtp.port), later)
        run_once(sessions, data.settings_for(database_url, smtp.port), later + timedelta(minutes=1))
        assert [m.recipients for m in smtp.inbox] == [["head@example.com"]]
    with sessions() as session:
        [run] = session.scalars(select(DigestRun)).all()
        [delivery] = session.scalars(select(Delivery)).all()
        assert run.state == "sent" and delivery.state == "sent" and delivery.attempts == 2


def test_digest_killed_after_the_server_took_it_is_resent_with_the_same_message_id(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """SMTP cannot tell whether a message arrived if we die before recording its 250 reply: it is sent
    again after the claim expires, with the same Message-ID, so a mail client drops the copy."""
    data.department(sessions, schedule=None)
    send = ["digest", "send", "--department", "support"]
    with smtp_server() as smtp:
        env = digest_env(database_url, smtp.port, tmp_path)
        killed = cli.start(send, {**env, "FEEDBACK_TEST_PAUSE_AT": "digest.sent"})
        cli.kill_at_pause(killed, "digest.sent")
        assert len(smtp.inbox) == 1
        assert cli.run(send, env).returncode == 1
        later = datetime.now(UTC) + timedelta(minutes=6)
        run_once(sessions, data.settings_for(database_url, smtp.port), later)
        assert len(smtp.inbox) == 2
        first, copy = (m.message for m in smtp.inbox)
        assert first["Message-ID"] == copy["Message-ID"] and first["Subject"] == copy["Subject"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DigestRun)) == 1
