"""Delivery through a real SMTP server and a real webhook receiver on 127.0.0.1: what arrives, and that each
digest arrives exactly once however long the mail server is down."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from feedback.digests import outbox, schedule
from feedback.models import Alert, Delivery, DigestRun
from tests.digests import data
from tests.digests.conftest import World
from tests.digests.servers import SmtpServer, WebhookReceiver, smtp_server

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.charts
def test_the_email_has_text_html_and_the_charts_inline(
    sessions, settings, smtp: SmtpServer, world: World
) -> None:
    """Needs Chromium (kaleido): fails, never skips, when it is missing."""
    report = schedule.send_now(
        sessions, dataclasses.replace(settings, digest_charts=True), "support", data.T0
    )
    assert report.deliveries.sent == 1
    [message] = smtp.messages()
    assert message["To"] == "head@example.com" and message["Subject"].startswith(
        "Support: 2 problems to look at"
    )
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert (
        "1. Late refunds [growing, recurring]" in text
        and "Acknowledge: http://feedback.test/actions/" in text
    )
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 2
    for image in images:
        cid = image["Content-ID"].strip("<>")
        png = image.get_content()
        assert png.startswith(PNG) and len(png) > 5_000  # a drawn chart, not a blank
        assert f'src="cid:{cid}"' in html
    with sessions() as session:
        run = session.scalars(select(DigestRun)).one()
    assert run.state == "sent" and run.warnings == []


def test_the_webhook_is_signed_and_slack_compatible(sessions, settings, world: World, monkeypatch) -> None:
    monkeypatch.setenv("SUPPORT_HOOK_SECRET", "whsec-test")
    with WebhookReceiver() as receiver:
        data.department(
            sessions, channels=[{"kind": "webhook", "url": receiver.url, "secret_env": "SUPPORT_HOOK_SECRET"}]
        )
        report = schedule.send_now(sessions, settings, "support", data.T0)
    assert report.deliveries.sent == 2  # the head by e-mail, the webhook
    [hook] = receiver.received
    timestamp, signature = hook.headers["x-feedback-timestamp"], hook.headers["x-feedback-signature"]
    expected = hmac.new(b"whsec-test", timestamp.encode() + b"." + hook.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, "sha256=" + expected)
    assert abs(int(timestamp) - time.time()) < 60 and hook.headers["x-feedback-event"] == "digest"
    assert hook.headers["x-feedback-delivery"].isdigit()
    body = hook.json()
    assert body["text"].startswith("Support: 2 problems") and body["blocks"][0]["type"] == "header"
    buttons = [b for b in body["blocks"] if b["type"] == "actions"]
    assert len(buttons) == 2 and buttons[0]["elements"][0]["url"].startswith("http://feedback.test/actions/")
    assert body["digest"]["items"][0]["cause"] == "late-refunds"
    assert "jane@example.com" not in hook.body.decode()


def test_smtp_down_across_several_scheduled_runs_every_digest_arrives_once(
    sessions, settings, smtp, world
) -> None:
    settings = dataclasses.replace(settings, digest_max_attempts=40)
    smtp.stop()  # the mail server is down
    server = SmtpServer(port=settings.smtp_port)
    for hours in range(0, 61):  # the scheduler wakes up every hour for two and a half days
        schedule.tick(sessions, settings, data.T0 + timedelta(hours=hours))
    with sessions() as session:
        runs = session.scalars(select(DigestRun).order_by(DigestRun.id)).all()
        pending = session.scalars(select(Delivery)).all()
    assert [r.period_key for r in runs] == ["2026-03-02T08:00Z", "2026-03-03T08:00Z", "2026-03-04T08:00Z"]
    assert {r.state for r in runs} == {"sending"} and {d.state for d in pending} == {"pending"}
    assert all(d.attempts > 3 and "unreachable" in (d.last_error or "") for d in pending)
    server.start()  # the mail server is back
    try:
        for hours in range(61, 70):  # until the morning before the fourth digest
            schedule.tick(sessions, settings, data.T0 + timedelta(hours=hours))
        got = server.by_recipient()["head@example.com"]
        alarms = server.by_recipient()["admin@example.com"]
    finally:
        server.stop()
    subjects = [m["Subject"] for m in got]
    assert len(got) == 3 and len({m["Message-ID"] for m in got}) == 3, subjects
    with sessions() as session:
        assert {r.state for r in session.scalars(select(DigestRun))} == {"sent"}
        notices = session.scalars(select(Alert).order_by(Alert.fired_at)).all()
    # The admins were alarmed in the first hour of the outage (not after the retry window), then once a day
    assert [(n.kind, n.subject) for n in notices] == [("admin", "admin:deliveries")] * 3
    assert notices[0].fired_at <= data.T0 + timedelta(hours=1)
    assert len(alarms) == 3 and len({m["Message-ID"] for m in alarms}) == 3


def test_after_the_last_try_a_delivery_fails_visibly_and_the_admins_hear_of_it(
    sessions, settings, smtp, world
) -> None:
    settings = dataclasses.replace(settings, digest_max_attempts=3, digest_retry_s=60)
    smtp.stop()
    server = SmtpServer(port=settings.smtp_port)
    schedule.send_now(sessions, settings, "support", data.T0)  # try 1 (SMTP down)
    outbox.deliver_due(sessions, settings, data.T0 + timedelta(seconds=30))  # not due yet: backoff 60 s
    outbox.deliver_due(sessions, settings, data.T0 + timedelta(seconds=61))  # try 2, then 120 s
    outbox.deliver_due(sessions, settings, data.T0 + timedelta(seconds=182))  # try 3: the last
    with sessions() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.purpose == "digest")).one()
        run = session.scalars(select(DigestRun)).one()
        notice = session.scalars(select(Alert)).one()
    assert (
        delivery.state == "failed" and delivery.attempts == 3 and "unreachable" in (delivery.last_error or "")
    )
    assert run.state == "failed" and run.admin_alerted_at is None  # the notice could not go out either
    assert (
        notice.kind == "admin" and "was not delivered" in notice.title and "head@example.com" in notice.text
    )
    server.start()
    try:
        outbox.deliver_due(sessions, settings, data.T0 + timedelta(minutes=5))
        [mail] = server.by_recipient()["admin@example.com"]
    finally:
        server.stop()
    assert "was not delivered" in mail["Subject"]
    with sessions() as session:
        alerted = session.get(DigestRun, run.id).admin_alerted_at
    assert data.T0 + timedelta(minutes=5) <= alerted < data.T0 + timedelta(minutes=6)


def test_webhook_errors_retry_when_they_may_pass_and_fail_at_once_when_not(
    sessions, settings, world, monkeypatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s")
    with WebhookReceiver(statuses=[503]) as flaky, WebhookReceiver(statuses=[404]) as gone:
        data.department(
            sessions,
            heads=[],
            channels=[
                {"kind": "webhook", "url": flaky.url, "secret_env": "HOOK_SECRET"},
                {"kind": "webhook", "url": gone.url, "secret_env": "HOOK_SECRET"},
                {"kind": "webhook", "url_env": "UNSET_HOOK_URL", "secret_env": "HOOK_SECRET"},
            ],
        )
        schedule.send_now(sessions, settings, "support", data.T0)
        outbox.deliver_due(sessions, settings, data.T0 + timedelta(minutes=2))
        with sessions() as session:
            states = {
                d.recipient: (d.state, d.attempts, d.last_error) for d in session.scalars(select(Delivery))
            }
    assert states[flaky.url][:2] == ("sent", 2) and len(flaky.received) == 2
    assert states[gone.url][:2] == ("failed", 1) and "404" in (states[gone.url][2] or "")
    assert states["env:UNSET_HOOK_URL"][:2] == ("failed", 1) and "UNSET_HOOK_URL" in (
        states["env:UNSET_HOOK_URL"][2] or ""
    )
    assert (
        flaky.received[0].headers["x-feedback-delivery"] == flaky.received[1].headers["x-feedback-delivery"]
    )


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_authentication(sessions, database_url, world: World) -> None:
    with smtp_server(credentials=("mailer", "right")) as server:
        wrong = data.settings_for(database_url, server.port, smtp_username="mailer", smtp_password="wrong")
        right = dataclasses.replace(wrong, smtp_password="right")
        refused = schedule.send_now(sessions, wrong, "support", data.T0)
        accepted = schedule.send_now(sessions, right, "support", data.T0 + timedelta(minutes=1))
        assert len(server.messages()) == 1
    assert refused.deliveries.failed == 1 and accepted.deliveries.sent == 1
    with sessions() as session:
        errors = [d.last_error for d in session.scalars(select(Delivery).where(Delivery.state == "failed"))]
    assert any("authentication" in (e or "") for e in errors)
