"""GET /api/outcomes/pays and /api/outcomes/drivers: the same figures as the analysis, for executives."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import select, update

from feedback.analysis import outcomes as an
from feedback.db import transaction
from feedback.demo.outcome_data import Planted
from feedback.models import Invitation, Response, Role
from tests import factories
from tests.factories import bearer
from tests.outcomes.data import store_events, store_synthetic


def test_pays_and_drivers(client, sessions, tmp_path: Path) -> None:
    responses, events = store_synthetic(sessions, 3, 800, Planted(effect=0.2))
    store_events(sessions, events, tmp_path)
    with transaction(sessions) as session:  # days late: the lower the score, the later
        rows = session.execute(select(Response.id, Response.csat)).all()
        for rid, csat in rows:
            session.execute(
                update(Response).where(Response.id == rid).values(context_fields={"days_late": 10 - 2 * csat})
            )
        session.execute(update(Invitation).values(context_fields=None))
    executive = bearer(factories.token(sessions, Role.EXECUTIVE))
    answer = client.get("/api/outcomes/pays?horizon_days=90", headers=executive)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    linked = an.link_outcomes(responses, events, 90, events["at"].max())
    expected = an.compare(linked, "repeat_purchase", pl.col("score") >= 4, pl.col("score") <= 2)
    assert expected.adjusted is not None
    assert abs(body["effect"]["adjusted"]["value"] - expected.adjusted.value) < 1e-4  # tenure: stored times
    assert body["effect"]["verdict"] == expected.verdict == an.SHOWN
    assert {b["band"] for b in body["bands"]} == {"dissatisfied", "neutral", "satisfied"}
    bad = client.get("/api/outcomes/pays?scale=stars&control=mood", headers=executive)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "scale"
    unknown = client.get("/api/outcomes/pays?control=mood", headers=executive)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "controls"
    head = bearer(factories.token(sessions, Role.DEPARTMENT_HEAD, "support"))
    assert client.get("/api/outcomes/pays", headers=head).status_code == 403

    drivers = client.get("/api/outcomes/drivers?field=days_late&bands=0,4", headers=executive).json()
    assert [b["label"] for b in drivers["bands"]] == ["<= 0", "0-4", "> 4"]
    assert drivers["bands"][0]["mean"] == 5.0 and drivers["verdict"] == an.SHOWN
    assert drivers["contrast"]["value"] < 0
    wrong = client.get("/api/outcomes/drivers?field=days_late&bands=4,0", headers=executive)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "bands"
