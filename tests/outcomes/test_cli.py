"""`feedback outcomes import` and `show` on a database of synthetic customers (both databases)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from feedback.analysis import outcomes as an
from feedback.cli import main
from feedback.db import transaction
from feedback.demo.outcome_data import AS_OF, Planted, synthetic
from feedback.models import Invitation, Response
from tests import factories


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
    responses, events = synthetic(7, 600, planted)
    # Orders are recorded under an order-level id; the identity map ties them to the person.
    events = events.with_row_index("i").with_columns(
        pl.when(pl.col("i") % 2 == 0).then(pl.col("person") + "-o").otherwise(pl.col("person")).alias("cid")
    )
    factories.survey(sessions)
    factories.invite(sessions, [{"customer_id": p} for p in responses["person"]])
    with transaction(sessions) as session:
        survey_id = session.scalars(select(Invitation.survey_id)).first()
        ids = {c: i for c, i in session.execute(select(Invitation.customer_id, Invitation.id))}
        for row in responses.iter_rows(named=True):
            session.add(
                Response(
                    id=uuid.uuid4(),
                    survey_id=survey_id,
                    invitation_id=ids[row["person"]],
                    via="api",
                    submitted_at=row["at"],
                    csat=row["score"],
                )
            )
    csv = tmp_path / "orders.csv"
    events.select(
        pl.col("cid").alias("client"),
        pl.col("at").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ").alias("occurred_at"),
        "kind",
        "amount",
    ).write_csv(csv)
    identities = tmp_path / "ids.csv"
    pl.DataFrame(
        {"customer_id": [p + "-o" for p in responses["person"]], "person_id": responses["person"]}
    ).write_csv(identities)
    assert "stored 600" in run("outcomes", "import", str(identities), "--identities")
    assert f"stored {events.height:,}" in run("outcomes", "import", str(csv), "--map", "customer_id=client")
    assert "stored 0 " in run("outcomes", "import", str(csv), "--map", "customer_id=client")
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
