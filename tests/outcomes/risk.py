"""Revenue at risk for tests: known customers with outcomes, one cause raised by the dissatisfied ones,
and the figure computed independently of the product's reads (from the synthetic rows themselves)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis import outcomes as an
from feedback.db import transaction
from feedback.demo.outcome_data import Planted
from feedback.models import CauseAssignment, Invitation, Response
from tests.outcomes.data import store_events, store_synthetic


def customers_with_a_cause(
    sessions: sessionmaker[Session], tmp_path: Path, run_id: int, cause_id: int, cause_key: str
) -> an.CauseRisk:
    """1,200 known customers with orders; the cause is raised by those who scored CSAT 1-2. Returns the
    cause's revenue at risk (spend within 90 days, against CSAT 4-5), computed from the rows made here."""
    responses, events = store_synthetic(sessions, 9, 1200, Planted(effect=0.25))
    store_events(sessions, events, tmp_path)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        known = select(Response.id).join(Invitation).where(Invitation.customer_id.is_not(None))
        dissatisfied = session.scalars(known.where(Response.csat <= 2)).all()
        for rid in dissatisfied:
            session.add(
                CauseAssignment(
                    run_id=run_id, cause_id=cause_id, item_kind="answer", response_id=rid,
                    occurred_at=now, confidence=0.9, method="taxonomy",
                )
            )  # fmt: skip
    linked = an.link_outcomes(responses, events, 90, events["at"].max())
    raised = linked.filter(pl.col("score") <= 2)["response_id"]
    items = pl.DataFrame({"response_id": raised, "cause": cause_key})
    (risk,) = an.revenue_at_risk(linked, items, "spend", pl.col("score").is_in([4, 5]), 1.0)
    assert risk.at_risk is not None and risk.low is not None and risk.high is not None and risk.rank == 1
    return risk


def shown(risk: an.CauseRisk) -> str:
    """The figure as a reader sees it: whole units, the interval, the rank."""
    assert risk.at_risk is not None and risk.low is not None and risk.high is not None
    return f"{risk.at_risk:,.0f} [{risk.low:,.0f}, {risk.high:,.0f}], #{risk.rank}"
