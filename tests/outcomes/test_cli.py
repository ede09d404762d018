"""`feedback outcomes import` and `show` on a database of synthetic customers (both databases)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from feedback.analysis import outcomes as an
from feedback.cli import main
from feedback.demo.outcome_data import AS_OF, Planted
from tests.outcomes.data import store_synthetic, write_events


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
