"""Fixtures for the digest tests: a real SMTP server, settings pointing at it, a department with causes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from tests.digests import data
from tests.digests.servers import SmtpServer, smtp_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(database_url: str, smtp: SmtpServer) -> Settings:
    return data.settings_for(database_url, smtp.port)


@dataclass
class World:
    department: int
    survey: int
    question: int
    run: int
    refunds: int  # growing and recurring, costs the most
    rude: int  # new this week
    typo: int  # steady and rare: not in the digest


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    """Support (daily digests at 08:00 UTC, one head) with three causes over four weeks of the ledger."""
    department = data.department(sessions)
    survey, question = data.survey(sessions)
    run = data.analysis_run(sessions, data.T0)
    refunds = data.cause(sessions, "late-refunds", department, "Late refunds")
    rude = data.cause(sessions, "rude-agent", department, "Rude agent")
    typo = data.cause(sessions, "typo-on-invoice", department, "Typo on the invoice")
    mondays = [date(2026, 2, 2) + timedelta(weeks=i) for i in range(4)]  # the last ends at T0
    data.ledger(sessions, run, refunds, [(m, 10 + 5 * i, 2.0 + i, "growing") for i, m in enumerate(mondays)])
    data.ledger(sessions, run, rude, [(mondays[-1], 6, 1.5, "new")])
    data.ledger(sessions, run, typo, [(m, 1, 0.1, "steady") for m in mondays[-2:]])
    times = data.every(data.T0 - timedelta(days=7), data.T0, timedelta(hours=6))
    ids = data.responses(
        sessions,
        survey,
        question,
        department,
        times,
        comment="Refund still missing, write to jane@example.com or call +44 20 7946 0958",
    )
    data.assign(sessions, run, refunds, ids, question, times, department)
    return World(department, survey, question, run, refunds, rude, typo)
