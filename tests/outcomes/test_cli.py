"""`feedback outcomes import` and `show` on a database of synthetic customers (both databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from feedback.analysis import outcomes as an
from feedback.cli import main
from feedback.db import transaction
from feedback.demo.outcome_data import AS_OF, Planted
from feedback.models import AnalysisRun, Cause, CauseAssignment, Response, RunState
from tests.outcomes.data import store_events, store_synthetic, write_events


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return invoke


def test_import_then_show_matches_the_analysis_of_the_same_rows(run, sessions, tmp_path: Path) -> None:
    planted = Planted(effect=0.15)
    responses, events = store_synthetic(sessions, 7, 600, planted)
    # Orders are recorded under an order-level id; the identity map ties them to the person.
    events = events.with_row_index("i").with_columns(
        pl.when(pl.col("i") % 2 == 0).then(pl.col("person") + "-o").otherwise(pl.col("person")).alias("cid")
    )
    csv = tmp_path / "orders.csv"
    write_events(events, csv, "cid")
    identities = tmp_path / "ids.csv"
    pl.DataFrame(
        {"customer_id": [p + "-o" for p in responses["person"]], "person_id": responses["person"]}
    ).write_csv(identities)
    assert "stored 600" in run("outcomes", "import", str(identities), "--identities")
    assert f"stored {events.height:,}" in run(
        "outcomes", "import", str(csv), "--map", "customer_id=customer_id"
    )
    assert "stored 0 " in run("outcomes", "import", str(csv), "--map", "customer_id=customer_id")
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,occurred_at,kind\nx,not a date,order\n")
    assert "line 2: occurred_at" in run("outcomes", "import", str(bad), ok=False)

    shown = json.loads(run("outcomes", "show", "--json", "--horizon-days", "90"))
    as_of = events["at"].max()
    linked = an.link_outcomes(responses, events.drop("i", "cid"), 90, as_of)
    expected = an.compare(linked, "repeat_purchase", pl.col("score") >= 4, pl.col("score") <= 2)
    assert expected.adjusted is not None
    assert shown["effect"]["adjusted"]["value"] == pytest.approx(expected.adjusted.value)
    assert shown["effect"]["n_top"] == expected.n_top and shown["effect"]["verdict"] == expected.verdict
    assert shown["coverage"]["responses"] == 600 and shown["coverage"]["complete"] == int(
        linked["complete"].sum()
    )
    text = run("outcomes", "show")
    assert "verdict: " + expected.verdict in text and "satisfied" in text and "not complete" in text
    assert AS_OF  # the synthetic data's clock


def test_revenue_at_risk_per_cause_from_the_latest_analysis_run(run, sessions, tmp_path: Path) -> None:
    responses, events = store_synthetic(sessions, 9, 1200, Planted(effect=0.25))
    store_events(sessions, events, tmp_path)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        analysis = AnalysisRun(state=RunState.COMPLETE, engine="test", started_at=now, finished_at=now)
        late = Cause(
            key="late",
            name="Late delivery",
            status="active",
            origin="taxonomy",
            verbatims=[],
            examples=[],
            size=1,
        )
        session.add_all([analysis, late])
        session.flush()
        for rid in session.scalars(select(Response.id).where(Response.csat <= 2)):
            session.add(
                CauseAssignment(
                    run_id=analysis.id, cause_id=late.id, item_kind="answer", response_id=rid,
                    occurred_at=now, confidence=0.9, method="taxonomy",
                )
            )  # fmt: skip
    output = run("outcomes", "causes", "--value", "40")
    linked = an.link_outcomes(responses, events, 90, events["at"].max())
    items = pl.DataFrame(
        {"response_id": linked.filter(pl.col("score") <= 2)["response_id"], "cause": "Late delivery"}
    )
    (expected,) = an.revenue_at_risk(linked, items, "repeat_purchase", pl.col("score").is_in([4, 5]), 40.0)
    assert expected.rank == 1 and expected.at_risk is not None
    assert output.startswith(f"#1 Late delivery: {expected.customers:,} customers, at risk ")
    shown = float(output.split("at risk ")[1].split(" ")[0].replace(",", ""))
    assert abs(shown - expected.at_risk) <= 0.5 + 1e-4 * expected.at_risk
