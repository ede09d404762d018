"""Alerts between digests: a spike of a cause or of a department's unhappy customers alerts its owner at
once, at most once per cooldown."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import select

from feedback.digests import alerts
from feedback.models import Alert
from tests.digests import data

NOW = data.T0 + timedelta(days=1)


def test_a_cause_spike_alerts_its_department_once_per_cooldown(sessions, settings, smtp, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s3")
    from tests.digests.servers import WebhookReceiver

    with WebhookReceiver() as hook:
        department = data.department(
            sessions, channels=[{"kind": "webhook", "url": hook.url, "secret_env": "HOOK_SECRET"}]
        )
        survey, question = data.survey(sessions)
        run = data.analysis_run(sessions, NOW)
        cause = data.cause(sessions, "app-crash", department, "The app crashes at checkout")
        usual = data.every(NOW - timedelta(days=28), NOW - timedelta(hours=3), timedelta(days=1))  # 1 a day
        burst = data.every(NOW - timedelta(hours=2), NOW, timedelta(minutes=10))  # 12 in two hours
        ids = data.responses(
            sessions,
            survey,
            question,
            department,
            usual + burst,
            comment="crashes when I pay, my email is a.b@example.org",
        )
        data.assign(sessions, run, cause, ids, question, usual + burst, department)
        fired = alerts.check_spikes(sessions, settings, NOW)
        again = alerts.check_spikes(sessions, settings, NOW + timedelta(minutes=5))
        later = alerts.check_spikes(sessions, settings, NOW + timedelta(hours=25))  # the burst is over
    assert len(fired) == 1 and again == [] and later == []
    [mail] = smtp.messages()
    assert mail["Subject"] == "[feedback] Spike: The app crashes at checkout (Support)"
    text = mail.get_body(("plain",)).get_content()
    assert "12 customers raised" in text and "[email]" in text and "a.b@example.org" not in text
    assert "Acknowledge: http://feedback.test/actions/" in text
    [call] = hook.received
    signed = hmac.new(b"s3", call.headers["x-feedback-timestamp"].encode() + b"." + call.body, hashlib.sha256)
    assert call.headers["x-feedback-signature"] == "sha256=" + signed.hexdigest()
    assert call.headers["x-feedback-event"] == "alert" and call.json()["alert"]["count"] == 12


def test_unhappy_customers_piling_up_alert_the_department_without_any_cause(sessions, settings, smtp) -> None:
    department = data.department(sessions)
    survey, question = data.survey(sessions)
    data.responses(
        sessions, survey, question, department, data.every(NOW - timedelta(days=20), NOW, timedelta(days=1))
    )
    calm = alerts.check_spikes(sessions, settings, NOW)
    data.responses(
        sessions,
        survey,
        question,
        department,
        data.every(NOW - timedelta(hours=1), NOW, timedelta(minutes=5)),
        comment="nobody answers",
    )
    data.responses(
        sessions,
        survey,
        question,
        department,
        data.every(NOW - timedelta(hours=1), NOW, timedelta(minutes=5)),
        nps=10,
        comment=None,
    )
    fired = alerts.check_spikes(sessions, settings, NOW)
    assert calm == [] and len(fired) == 1
    with sessions() as session:
        alert = session.scalars(select(Alert)).one()
    assert (
        alert.subject == f"negative:{department}" and alert.detail["count"] == 12
    )  # the promoters do not count
    assert "Spike in unhappy customers: Support" in smtp.messages()[0]["Subject"]


def test_one_burst_one_alert_a_cause_found_later_for_the_same_answers_does_not_alert_again(
    sessions, settings, smtp
) -> None:
    """Ten angry answers about stock alert the department; the analysis then assigns them to a cause: the
    same burst, so no second alert within the cooldown."""
    department = data.department(sessions)
    survey, question = data.survey(sessions)
    data.responses(
        sessions, survey, question, department, data.every(NOW - timedelta(days=20), NOW, timedelta(days=1))
    )
    burst_times = data.every(NOW - timedelta(hours=1), NOW, timedelta(minutes=6))  # ten in the last hour
    burst = data.responses(sessions, survey, question, department, burst_times, comment="never in stock")
    first = alerts.check_spikes(sessions, settings, NOW)
    run = data.analysis_run(sessions, NOW + timedelta(minutes=10))
    stock = data.cause(sessions, "out-of-stock", department, "Out of stock")
    data.assign(sessions, run, stock, burst, question, burst_times, department)
    after_analysis = alerts.check_spikes(sessions, settings, NOW + timedelta(minutes=15))
    assert len(first) == 1 and after_analysis == []
    [mail] = smtp.messages()
    assert "Spike in unhappy customers: Support" in mail["Subject"]


def test_a_burst_whose_cause_is_known_is_one_alert_naming_the_cause(sessions, settings, smtp) -> None:
    department = data.department(sessions)
    survey, question = data.survey(sessions)
    run = data.analysis_run(sessions, NOW)
    stock = data.cause(sessions, "out-of-stock", department, "Out of stock")
    late = data.cause(sessions, "late-parcels", department, "Late parcels")
    for cause, comment in ((stock, "never in stock"), (late, "the parcel is late")):
        times = data.every(NOW - timedelta(hours=2), NOW, timedelta(minutes=12))
        ids = data.responses(sessions, survey, question, department, times, comment=comment)
        data.assign(sessions, run, cause, ids, question, times, department)
    fired = alerts.check_spikes(sessions, settings, NOW)
    assert len(fired) == 1 and alerts.check_spikes(sessions, settings, NOW + timedelta(minutes=5)) == []
    [mail] = smtp.messages()
    text = mail.get_body(("plain",)).get_content()
    named = {"Out of stock", "Late parcels"}
    assert any(name in mail["Subject"] for name in named)  # the cause, not just "unhappy customers"
    assert "Also rising:" in text and all(name in text for name in named)
