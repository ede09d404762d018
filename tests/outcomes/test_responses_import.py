"""`feedback responses import`: historical answers into a survey, checked row by row, stored once (both
databases), tied to their customers and counted like answers sent through the API."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from feedback.cli import main
from feedback.models import Answer, Invitation, Response
from tests import factories

FIELDS = '[[fields]]\nname = "days_late"\ntype = "numeric"\n'
GOOD = """review_id,answered,customer,score,recommend,comment,channel,days_late
r1,2026-10-01 10:00:00,c1,5,9,Arrived early and well packed,web,-2
r2,2026-10-02T11:30:00Z,c2,1,2,Never arrived,web,12
r3,2026-10-03,c3,4,8,,phone,
"""
MAP = ("--map", "id=review_id", "--map", "submitted_at=answered", "--map", "customer_id=customer")
MAP += ("--map", "csat=score", "--map", "nps=recommend")


@pytest.fixture
def run(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    (tmp_path / "fields.toml").write_text(FIELDS)
    monkeypatch.setenv("FEEDBACK_CONTEXT_FIELDS_FILE", str(tmp_path / "fields.toml"))
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDBACK_SECRET_KEY", "test-secret")
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    return invoke


def test_a_file_of_answers_is_stored_once_with_its_customers_context_and_comments(
    run, sessions, tmp_path: Path
) -> None:
    factories.survey(sessions)
    good = tmp_path / "reviews.csv"
    good.write_text(GOOD)
    assert "rows 3  stored 3  already stored 0  rejected 0" in run(
        "responses", "import", str(good), "--survey", "support-followup", *MAP
    )
    assert "rows 3  stored 0  already stored 3  rejected 0" in run(
        "responses", "import", str(good), "--survey", "support-followup", *MAP
    )
    with sessions() as session:
        rows = session.execute(
            select(
                Invitation.customer_id, Response.csat, Response.nps, Response.channel, Response.context_fields
            )
            .join(Invitation, Response.invitation_id == Invitation.id)
            .order_by(Invitation.customer_id)
        ).all()
        comments = session.scalars(
            select(Answer.text).where(Answer.text.is_not(None)).order_by(Answer.text)
        ).all()
        polarity = session.scalar(select(func.count()).where(Answer.polarity.is_not(None)))
        via = set(session.scalars(select(Response.via)))
    assert [tuple(r) for r in rows] == [
        ("c1", 5, 9, "web", {"days_late": -2.0}),
        ("c2", 1, 2, "web", {"days_late": 12.0}),
        ("c3", 4, 8, "phone", None),
    ]
    assert (
        comments == ["Arrived early and well packed", "Never arrived"] and polarity == 2 and via == {"import"}
    )
    # Counted like any answer: the metrics (from the rollups) see them.
    output = run("metrics", "show", "--metric", "csat", "--since", "2026-09-01", "--until", "2026-11-01")
    assert "66.7*" in output and " 3 " in output  # 2 of 3 answered 4 or 5


def test_a_bad_row_rejects_the_file_naming_its_line_and_column(run, sessions, tmp_path: Path) -> None:
    factories.survey(sessions)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        GOOD
        + "r4,yesterday,c4,5,9,,web,1\n"  # line 5: not a time
        + "r5,2026-10-04,c5,7,9,,web,soon\n"  # line 6: CSAT is 1-5; days late a number
        + "r6,2026-10-04,c6,5,,,web,1\n"  # line 7: NPS is required
    )
    output = run("responses", "import", str(bad), "--survey", "support-followup", *MAP, ok=False)
    for problem in ("line 5: answered", "line 6: score", "line 6: days_late", "line 7: recommend"):
        assert problem in output, output
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0
    output = run("responses", "import", str(bad), "--survey", "support-followup", *MAP, "--skip-invalid")
    assert "rows 6  stored 3  already stored 0  rejected 3" in output


def test_parquet_and_an_unknown_column_mapping(run, sessions, tmp_path: Path) -> None:
    factories.survey(sessions)
    frame = pl.read_csv(GOOD.encode(), infer_schema_length=0)
    frame.write_parquet(tmp_path / "reviews.parquet")
    assert "stored 3" in run(
        "responses", "import", str(tmp_path / "reviews.parquet"), "--survey", "support-followup", *MAP
    )
    output = run(
        "responses",
        "import",
        str(tmp_path / "reviews.parquet"),
        "--survey",
        "support-followup",
        "--map",
        "mood=x",
        ok=False,
    )
    assert "--map" in output
