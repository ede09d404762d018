"""The demo company closes the loop: its customers' orders show that satisfied customers buy again more."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from feedback.analysis import outcomes as an
from feedback.db import transaction
from feedback.demo.seed import seed_demo
from feedback.models import OutcomeEvent
from feedback.outcomes.report import satisfaction_pays
from tests.factories import BASE_URL


def test_the_demo_has_orders_in_which_satisfied_customers_buy_again_more(sessions) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with transaction(sessions) as session:
        printed = seed_demo(session, BASE_URL, months=4, responses_per_day=40, now=now)
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(OutcomeEvent))
        kinds = set(session.scalars(select(OutcomeEvent.kind).distinct()))
    assert stored and f"{stored:,} orders, renewals and cancellations" in printed
    assert kinds == {"order", "renewal", "cancellation"}
    report = satisfaction_pays(sessions.kw["bind"], scale="csat", outcome="repeat_purchase", horizon_days=90)
    assert report.effect is not None and report.effect.adjusted is not None
    assert report.effect.verdict == an.SHOWN and report.effect.adjusted.low > 0
    assert report.coverage.linked > 0 and 0 < report.coverage.complete < report.coverage.responses
