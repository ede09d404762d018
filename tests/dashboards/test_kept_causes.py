"""Root-cause panels count the answers of analysis runs: a page after a new answer reuses them, a page after
a cause changes does not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback.accounts.access import OPERATOR
from feedback.dashboards import panels
from feedback.dashboards.access import filters_for, open_dashboard
from feedback.dashboards.library import load_library
from feedback.db import transaction
from feedback.models import Cause, CauseEvent
from tests.dashboards.data import A, seed
from tests.metrics.data import store


def test_cause_panels_are_kept_after_a_new_answer_and_recomputed_after_a_cause_changes(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDBACK_DASHBOARD_CACHE_S", "60")
    seed(sessions)
    computed: list[Any] = []
    frames = panels.cause_frames

    def counting(*args: Any) -> Any:
        computed.append(frames(*args))
        return computed[-1]

    monkeypatch.setattr(panels, "cause_frames", counting)
    spec = open_dashboard(load_library(None), "executive-overview", OPERATOR)

    def causes_shown() -> list[str]:
        with transaction(sessions) as session:
            filters = filters_for(session, spec, OPERATOR, {})
            data = panels.read_dashboard(session, OPERATOR, spec, filters, 1)
        [top] = [d for d in data if d.spec.id == "top-causes"]
        return list(top.frame["cause"])

    first = causes_shown()
    assert len(computed) == 1 and first
    now = datetime.now(UTC)
    store(sessions, [{"at": now, "answers": {"nps": 3}}], slug=f"{A}-survey")
    assert causes_shown() == first and len(computed) == 1  # an answer outside any analysis run

    with transaction(sessions) as session:
        cause = session.scalars(select(Cause).order_by(Cause.id)).first()
        assert cause is not None
        cause.name = "Refunds take weeks"
        cause.updated_at = now
        session.add(CauseEvent(cause_id=cause.id, kind="renamed", at=now, actor="test", detail={}))
    renamed = causes_shown()
    assert len(computed) == 2 and "Refunds take weeks" in renamed
