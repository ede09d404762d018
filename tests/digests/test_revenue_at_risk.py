"""The department digest shows each cause's revenue at risk, through a real SMTP server (both databases)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.digests import schedule
from tests.digests import data
from tests.digests.conftest import World
from tests.digests.servers import SmtpServer
from tests.outcomes.risk import customers_with_a_cause, shown


def test_each_cause_in_the_digest_carries_its_revenue_at_risk_or_why_not(
    sessions: sessionmaker[Session], settings: Settings, smtp: SmtpServer, world: World, tmp_path: Path
) -> None:
    risk = customers_with_a_cause(sessions, tmp_path, world.run, world.refunds, "late-refunds")
    report = schedule.send_now(sessions, settings, "support", data.T0)
    assert report.deliveries.sent == 1
    [message] = smtp.messages()
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    refunds, rude = text.split("1. Late refunds")[1].split("2. Rude agent")
    assert f"95% interval): {shown(risk)}" in " ".join(refunds.split())
    why = "not shown (none of its customers has outcomes), not ranked"
    assert f"95% interval): {why}" in " ".join(rude.split())
    assert shown(risk) in html


def test_without_outcomes_the_digest_says_nothing_of_revenue(
    sessions: sessionmaker[Session], settings: Settings, smtp: SmtpServer, world: World
) -> None:
    schedule.send_now(sessions, settings, "support", data.T0)
    [message] = smtp.messages()
    assert "Revenue at risk" not in message.get_body(("plain",)).get_content()
