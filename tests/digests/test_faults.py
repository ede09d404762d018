"""Fault injection against a real SMTP server of the test's own (aiosmtpd on 127.0.0.1): slow, absent,
dropping the connection after DATA, hanging then killed, and the sender itself killed with SIGKILL mid-batch.

Each ends with the outbox's promise checked against what the server really received: every delivery sent,
each recipient holding each of its messages (by Message-ID) exactly once after recovery, so nothing is lost
and, counting a retried copy by its Message-ID as a receiver does, nothing doubled. Where a copy is
unavoidable (the server took a message, then the connection or the sender died before the reply), it carries
the same Message-ID, and there are never more copies than such failures.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from feedback.cli import main
from feedback.config import Settings
from feedback.digests import outbox, schedule
from feedback.digests.resend import resend
from feedback.models import Delivery, DigestRun
from feedback.web.app import create_app
from tests.digests import data
from tests.digests.servers import Faults, SmtpServer, WebhookReceiver
from tests.faults import cli

MESSAGE_ID = re.compile(r"<[0-9a-f]{32}\.(digest|admin)\.\d+@example\.com>")


def team(sessions: sessionmaker[Session], size: int, schedule_: str | None = None) -> list[str]:
    """Support, with ``size`` heads: a digest is ``size`` deliveries."""
    heads = [(f"Head {i}", f"head{i}@example.com") for i in range(size)]
    data.department(sessions, schedule=schedule_, heads=heads)
    return [email for _, email in heads]


def deliveries(sessions: sessionmaker[Session]) -> list[Delivery]:
    with sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def copies(smtp: SmtpServer) -> Counter[tuple[str, str]]:
    """(recipient, Message-ID) -> how many times the server took it."""
    return Counter((to, str(m["Message-ID"])) for to, got in smtp.by_recipient().items() for m in got)


def assert_all_arrived(sessions: sessionmaker[Session], smtp: SmtpServer, max_copies: int = 0) -> None:
    """Every e-mail delivery sent; the server holds exactly those messages; at most ``max_copies`` extra."""
    rows = [d for d in deliveries(sessions) if d.channel == "email"]
    assert {(d.state, d.message_id is not None) for d in rows} == {("sent", True)}, [
        (d.id, d.state, d.last_error) for d in rows
    ]
    received = copies(smtp)
    assert set(received) == {(d.recipient, d.message_id) for d in rows}  # received == expected: 0 lost
    assert sum(received.values()) - len(received) <= max_copies, received  # 0 duplicates beyond those
    assert all(MESSAGE_ID.fullmatch(message_id) for _, message_id in received), received


def test_slow_server_a_message_being_sent_is_never_taken_over(
    sessions: sessionmaker[Session], database_url: str, smtp: SmtpServer
) -> None:
    """2.5 s per message with a 2 s claim: the heartbeat keeps each claim while the every-minute outbox job
    (here every 0.2 s) runs beside the digest job in the same scheduler."""
    recipients = team(sessions, 4)
    smtp.faults.delay_s = 2.5
    settings = data.settings_for(database_url, smtp.port, delivery_lease_s=2.0)
    errors: list[BaseException] = []

    def digest_job() -> None:
        try:
            schedule.send_now(sessions, settings, "support", datetime.now(UTC))
        except BaseException as error:
            errors.append(error)

    job = threading.Thread(target=digest_job)
    job.start()
    while job.is_alive():
        outbox.deliver_due(sessions, settings, datetime.now(UTC))
        time.sleep(0.2)
    job.join()
    assert errors == []
    assert sorted(smtp.by_recipient()) == recipients
    assert_all_arrived(sessions, smtp, max_copies=0)  # not one copy: nothing was sent twice
    assert [(d.state, d.attempts) for d in deliveries(sessions)] == [("sent", 1)] * 4


def test_server_absent_alarms_the_admins_by_webhook_within_the_hour_and_resend_loses_nothing(
    sessions: sessionmaker[Session], database_url: str, smtp: SmtpServer, monkeypatch, caplog
) -> None:
    recipients = team(sessions, 3, schedule_="0 8 * * *")
    smtp.stop()
    monkeypatch.setenv("FEEDBACK_ADMIN_WEBHOOK_SECRET", "admin-secret")
    with WebhookReceiver() as hook:
        monkeypatch.setenv("FEEDBACK_ADMIN_WEBHOOK_URL", hook.url)
        settings = data.settings_for(
            database_url, smtp.port, digest_max_attempts=5, digest_retry_s=300, admin_webhook_url=hook.url
        )
        first_alarm = None
        with caplog.at_level(logging.ERROR, logger="feedback.digests"):
            for step in range(10):  # the scheduler every 10 minutes, for 90 minutes: tries 1 to 5 fail
                now = data.T0 + timedelta(minutes=10 * step)
                schedule.tick(sessions, settings, now)
                if hook.received and first_alarm is None:
                    first_alarm = now
        assert first_alarm is not None and first_alarm <= data.T0 + timedelta(hours=1)
        texts = [h.json()["text"] for h in hook.received]
        assert "not getting through" in texts[0] and "head0@example.com" in texts[0]
        assert "SMTP server unreachable" in texts[0]
        assert any("was not delivered to everyone" in t for t in texts)  # after the last try
        assert "not getting through" in caplog.text  # the log, at ERROR
        assert {d.state for d in deliveries(sessions) if d.purpose == "digest"} == {"failed"}

        smtp.start()  # the mail server is back: the failed digests are sent again, once
        back = data.T0 + timedelta(minutes=100)
        report = resend(sessions, settings, back, failed_since=data.T0)
        assert len(report.requeued) >= 3 and report.deliveries.sent == len(report.requeued)
        for step in range(1, 8):  # the admins' e-mailed notices still being retried go out by themselves
            schedule.tick(sessions, settings, back + timedelta(minutes=10 * step))
        again = resend(sessions, settings, back + timedelta(hours=2), failed_since=data.T0)
    assert again.requeued == [] and again.deliveries.sent == 0  # running it twice sends once
    assert all(len(smtp.by_recipient()[r]) == 1 for r in recipients)
    assert_all_arrived(sessions, smtp, max_copies=0)
    with sessions() as session:
        run = session.scalars(select(DigestRun)).one()
    assert run.state == "sent" and run.admin_alerted_at is not None  # the webhook did reach the admins


def test_dropped_after_data_one_try_one_transfer_the_true_error_and_a_backoff(
    sessions: sessionmaker[Session], database_url: str, smtp: SmtpServer
) -> None:
    team(sessions, 2)
    smtp.faults.drop_after_data = 2  # takes each message whole, then hangs up instead of answering
    settings = data.settings_for(database_url, smtp.port, digest_retry_s=600)
    now = datetime.now(UTC)
    report = schedule.send_now(sessions, settings, "support", now)
    assert report.deliveries.retrying == 2 and len(smtp.inbox) == 2  # one transfer each, no resend at once
    for delivery in deliveries(sessions):
        assert delivery.state == "pending" and delivery.attempts == 1
        assert "disconnected after DATA" in (delivery.last_error or "")
        assert delivery.next_attempt_at >= now + timedelta(seconds=450)  # backed off, and stored
    outbox.deliver_due(sessions, settings, now + timedelta(minutes=5))
    assert len(smtp.inbox) == 2  # still backing off
    outbox.deliver_due(sessions, settings, now + timedelta(minutes=11))
    assert [(d.state, d.attempts) for d in deliveries(sessions)] == [("sent", 2)] * 2
    assert_all_arrived(sessions, smtp, max_copies=2)  # each copy with its original's Message-ID


def test_server_hangs_after_data_then_is_killed(
    sessions: sessionmaker[Session], database_url: str, smtp: SmtpServer
) -> None:
    team(sessions, 2)
    smtp.faults.hang = True
    settings = data.settings_for(database_url, smtp.port, smtp_timeout_s=0.5, digest_retry_s=60)
    now = datetime.now(UTC)
    report = schedule.send_now(sessions, settings, "support", now)
    assert report.deliveries.retrying == 2
    assert all("did not answer after DATA" in (d.last_error or "") for d in deliveries(sessions))
    smtp.faults.killed.set()  # the hung server is killed, and a healthy one started in its place
    smtp.stop()
    smtp.faults = Faults()
    smtp.start()
    outbox.deliver_due(sessions, settings, now + timedelta(minutes=2))
    assert [(d.state, d.attempts) for d in deliveries(sessions)] == [("sent", 2)] * 2
    assert_all_arrived(sessions, smtp, max_copies=2)


def test_sender_killed_mid_batch_the_rest_goes_out_once(
    sessions: sessionmaker[Session], database_url: str, smtp: SmtpServer, tmp_path: Path
) -> None:
    recipients = team(sessions, 6)
    smtp.faults.delay_s = 0.4
    env = cli.environment(
        database_url,
        FEEDBACK_SMTP_HOST="127.0.0.1",
        FEEDBACK_SMTP_PORT=str(smtp.port),
        FEEDBACK_SMTP_SECURITY="none",
        FEEDBACK_SMTP_FROM="feedback@example.com",
        FEEDBACK_DIGEST_CHARTS="0",
        FEEDBACK_DATA_DIR=str(tmp_path),
        FEEDBACK_DELIVERY_LEASE_S="2",
    )
    sender = cli.start(["digest", "send", "--department", "support"], env)
    cli.kill_when(sender, lambda: len(smtp.inbox) >= 2)  # the second message taken, its reply not yet
    assert 2 <= len(smtp.inbox) < 6
    cli._killed_sessions_gone(database_url)  # PostgreSQL: the killed client's session has ended
    schedule.tick(
        sessions, data.settings_for(database_url, smtp.port), datetime.now(UTC) + timedelta(minutes=1)
    )
    assert sorted(smtp.by_recipient()) == recipients
    assert_all_arrived(sessions, smtp, max_copies=1)  # at most the one in flight at the kill, same Message-ID


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient[Litestar]]:
    """The app with its writer in a thread (a writer process costs seconds to start, and is not the point)."""
    settings = Settings(database_url=database_url, secret_key="test-secret", writer="thread")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_health_degrades_with_failing_deliveries_and_recovers(
    client: TestClient[Litestar], sessions: sessionmaker[Session], database_url: str, smtp: SmtpServer
) -> None:
    team(sessions, 1)
    assert client.get("/health").json()["status"] == "ok"
    smtp.stop()
    settings = data.settings_for(database_url, smtp.port)
    schedule.send_now(sessions, settings, "support", datetime.now(UTC) - timedelta(hours=1))
    health = client.get("/health")
    body = health.json()
    assert health.status_code == 200 and body["status"] == "degraded" and body["database"] == "ok"
    d = body["deliveries"]
    assert (d["status"], d["failed"], d["overdue"], d["retrying"]) == ("failing", 0, 1, 1)
    assert 3590 <= d["oldest_age_s"] <= 3700 and "head0@example.com" in d["errors"][0]
    ready = client.get("/ready")  # a mail outage is no reason to stop taking answers
    assert ready.status_code == 200 and ready.json()["deliveries"] == d
    smtp.start()
    outbox.deliver_due(sessions, settings, datetime.now(UTC))
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["deliveries"]["overdue"] == 0 and body["deliveries"]["failed"] == 0


def test_a_healthy_health_check_is_one_read(
    client: TestClient[Litestar], sessions: sessionmaker[Session]
) -> None:
    """/health is polled by every monitor and load balancer: while nothing fails it reads the deliveries
    once (their counts and the oldest's age in one statement) and needs no separate SELECT 1."""
    team(sessions, 1)
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        assert client.get("/health").json()["status"] == "ok"
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    health_reads = [s for s in sent if "digest_deliveries" in s or s.strip() == "SELECT 1"]
    assert len(health_reads) == 1, health_reads


def _once(database_url: str, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Result:
    """`feedback scheduler --once`, as cron runs it (in this process: a new one spends seconds importing)."""
    for name, value in {
        "DATABASE_URL": database_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "DIGEST_CHARTS": "0",
        "DIGEST_RETRY_S": "0.01",
    }.items():
        monkeypatch.setenv(f"FEEDBACK_{name}", value)
    return CliRunner().invoke(main, ["scheduler", "--once"], catch_exceptions=False)


def test_scheduler_once_exits_non_zero_with_a_summary_while_deliveries_fail(
    sessions: sessionmaker[Session], database_url: str, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    fire = now - timedelta(minutes=10)
    data.department(sessions, schedule=f"{fire.minute} * * * *", since=now - timedelta(hours=2))
    smtp.stop()
    failing = _once(database_url, smtp, monkeypatch)
    assert failing.exit_code == 1, failing.output
    assert "deliveries: 0 failed, 0 overdue, 1 retrying after an error" in failing.output
    assert "head@example.com" in failing.output and "unreachable" in failing.output
    smtp.start()
    healthy = _once(database_url, smtp, monkeypatch)
    assert healthy.exit_code == 0, healthy.output
    assert [m["To"] for m in smtp.messages()] == ["head@example.com"]
