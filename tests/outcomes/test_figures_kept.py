"""Outcome figures end at the last outcome event, so a dashboard keeps them after a new answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.access import OPERATOR
from feedback.dashboards import panels
from feedback.dashboards.access import filters_for, open_dashboard
from feedback.dashboards.library import load_library
from feedback.db import transaction
from feedback.demo.outcome_data import Planted
from feedback.models import Invitation, Response
from feedback.outcomes.report import satisfaction_pays
from tests import factories
from tests.outcomes.data import store_events, store_synthetic


def _invite_again(sessions: sessionmaker[Session], responses: pl.DataFrame) -> None:
    """Another customer (named, so known) invited to answer."""
    factories.invite(sessions, [{"customer_id": f"{responses['person'][0]}-new"}])


def _answer_after(sessions: sessionmaker[Session], events: pl.DataFrame, csat: int) -> None:
    """The newest invitation's answer (a known customer's), a day after the last outcome event."""
    at = events["at"].max()
    assert isinstance(at, datetime)
    with transaction(sessions) as session:
        invitation = session.scalars(select(Invitation).order_by(Invitation.id.desc()).limit(1)).one()
        session.add(
            Response(
                id=uuid.uuid4(),
                survey_id=invitation.survey_id,
                invitation_id=invitation.id,
                via="api",
                submitted_at=at + timedelta(days=1),
                csat=csat,
            )
        )


def test_pays_counts_only_the_responses_up_to_the_last_outcome_event(sessions, tmp_path: Path) -> None:
    responses, events = store_synthetic(sessions, 3, 400, Planted(effect=0.2))
    store_events(sessions, events, tmp_path)
    engine = sessions.kw["bind"]
    before = satisfaction_pays(engine, scale="csat", outcome="repeat_purchase")
    last = events["at"].max()
    assert isinstance(last, datetime) and before.as_of is not None
    assert abs(before.as_of - last) < timedelta(seconds=1)  # the last event (SQLite keeps whole seconds)
    assert before.coverage.responses == responses.filter(pl.col("at") <= before.as_of).height

    _invite_again(sessions, responses)
    _answer_after(sessions, events, csat=1)  # nothing can be known yet of what this customer does next
    after = satisfaction_pays(engine, scale="csat", outcome="repeat_purchase")
    assert after == before

    early = satisfaction_pays(
        engine, scale="csat", outcome="repeat_purchase", as_of=datetime(2000, 1, 1, tzinfo=UTC)
    )
    assert early.coverage.responses == 0 and early.effect is None


def test_a_page_computes_the_outcome_section_once_and_keeps_it_until_outcomes_change(
    sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDBACK_DASHBOARD_CACHE_S", "60")
    responses, events = store_synthetic(sessions, 4, 400, Planted(effect=0.2))
    store_events(sessions, events.head(events.height // 2), tmp_path)
    _invite_again(sessions, responses)
    computed: list[Any] = []
    section = panels.outcomes_section

    def counting(session: Session) -> Any:
        computed.append(section(session))
        return computed[-1]

    monkeypatch.setattr(panels, "outcomes_section", counting)
    spec = open_dashboard(load_library(None), "executive-overview", OPERATOR)

    def page() -> list[panels.PanelData]:
        with transaction(sessions) as session:
            filters = filters_for(session, spec, OPERATOR, {"since": "2026-01-01", "until": "2026-12-31"})
            return panels.read_dashboard(session, OPERATOR, spec, filters, 30)

    first = page()
    assert len(computed) == 1  # the chart and the table of the section share one computation
    shown = [d for d in first if d.spec.kind == "outcomes"]
    assert len(shown) == 2 and shown[0].notes == shown[1].notes
    _answer_after(sessions, events.head(events.height // 2), csat=5)
    assert [d.notes for d in page() if d.spec.kind == "outcomes"] == [d.notes for d in shown]
    assert len(computed) == 1  # a new answer changes nothing the section shows

    store_events(sessions, events, tmp_path)  # the second half of the orders arrives
    again = [d for d in page() if d.spec.kind == "outcomes"]
    assert len(computed) == 2
    assert again[0].notes != shown[0].notes
