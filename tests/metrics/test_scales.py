"""The survey vocabulary: scale ranges, bands, the one "dissatisfied" rule, its settings."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from sqlalchemy import Column, Float, Integer, MetaData, Table, create_engine, insert, select

from feedback.analysis.metrics import summarize, to_counts
from feedback.analysis.outcomes import band_expr
from feedback.analysis.scales import DEFAULT_CUTOFFS, SCALES, Bands, Cutoffs
from feedback.config import Settings
from feedback.models import SCALES as QUESTION_SCALES


def test_defaults_are_the_industry_definitions() -> None:
    c = DEFAULT_CUTOFFS
    assert [c.band_name("nps", s) for s in (0, 6, 7, 8, 9, 10)] == [
        *["detractor"] * 2,
        *["passive"] * 2,
        *["promoter"] * 2,
    ]
    assert [c.band_name("csat", s) for s in (1, 2, 3, 4, 5)] == [
        "dissatisfied",
        "dissatisfied",
        "neutral",
        "satisfied",
        "satisfied",
    ]
    assert [c.band("ces", s) for s in (3, 4, 5, 7)] == ["low", "middle", "high", "high"]
    with pytest.raises(ValueError):
        c.band("csat", 0)


def test_question_ranges_come_from_the_vocabulary() -> None:
    assert {k.value: v for k, v in QUESTION_SCALES.items()} == {
        s.name: (s.low, s.high) for s in SCALES.values()
    }


def test_cut_offs_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_CSAT_BANDS", "3,4")
    monkeypatch.setenv("FEEDBACK_NEGATIVE_POLARITY", "-0.2")
    cutoffs = Settings().cutoffs
    assert cutoffs.csat == Bands(3, 4) and cutoffs.nps == Bands(6, 9)
    assert cutoffs.is_dissatisfied(csat=3) and not DEFAULT_CUTOFFS.is_dissatisfied(csat=3)
    assert not cutoffs.is_dissatisfied(polarity=-0.1) and DEFAULT_CUTOFFS.is_dissatisfied(polarity=-0.1)
    monkeypatch.setenv("FEEDBACK_NPS_BANDS", "9,6")
    with pytest.raises(ValueError, match="FEEDBACK_NPS_BANDS"):
        Settings()
    monkeypatch.setenv("FEEDBACK_NPS_BANDS", "6")
    with pytest.raises(ValueError, match="FEEDBACK_NPS_BANDS"):
        Settings()


ITEMS = [  # nps, csat, ces, polarity
    (6, None, None, 0.9),
    (7, None, None, -0.9),  # a score beats the words
    (None, 2, None, None),
    (None, 3, None, None),
    (8, 5, 3, None),  # any low score
    (None, None, None, -0.3),
    (None, None, None, -0.01),  # neutral text
    (None, None, None, None),
]


@pytest.mark.parametrize("cutoffs", [DEFAULT_CUTOFFS, Cutoffs(csat=Bands(3, 4), negative_polarity=0.0)])
def test_polars_sql_and_python_agree(cutoffs: Cutoffs) -> None:
    expected = [cutoffs.is_dissatisfied(*item) for item in ITEMS]
    frame = pl.DataFrame(
        ITEMS,
        schema={"nps": pl.Int64, "csat": pl.Int64, "ces": pl.Int64, "polarity": pl.Float64},
        orient="row",
    )
    assert frame.select(cutoffs.dissatisfied_expr()).to_series().to_list() == expected
    table = Table(
        "items",
        MetaData(),
        Column("i", Integer, primary_key=True),
        Column("nps", Integer),
        Column("csat", Integer),
        Column("ces", Integer),
        Column("polarity", Float),
    )
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as db:
        db.execute(
            insert(table),
            [
                dict(zip(("i", "nps", "csat", "ces", "polarity"), (i, *it), strict=True))
                for i, it in enumerate(ITEMS)
            ],
        )
        c = table.c
        found = {
            i
            for (i,) in db.execute(
                select(c.i).where(cutoffs.dissatisfied_sql(c.nps, c.csat, c.ces, c.polarity))
            )
        }
    assert [i in found for i in range(len(ITEMS))] == expected
    assert expected[:6] == ([True, False, True, cutoffs.csat.low_max >= 3, True, True])


OWN = Cutoffs().with_surveys({2: {"csat": Bands(3, 5), "nps": Bands(5, 8)}})  # survey 2's own; 1: the default


def test_a_surveys_own_bands_judge_its_rows_alone() -> None:
    rows = [(survey, *item) for survey in (1, 2) for item in ITEMS]
    expected = [OWN.for_survey(s).is_dissatisfied(*item) for s, *item in rows]
    assert expected[: len(ITEMS)] != expected[len(ITEMS) :]  # the bands make a difference here
    assert [OWN.is_dissatisfied(*item, survey=s) for s, *item in rows] == expected
    schema = {
        "survey_id": pl.Int64,
        "nps": pl.Int64,
        "csat": pl.Int64,
        "ces": pl.Int64,
        "polarity": pl.Float64,
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    assert frame.select(OWN.dissatisfied_expr()).to_series().to_list() == expected
    table = Table(
        "items",
        MetaData(),
        Column("i", Integer, primary_key=True),
        *(Column(n, Integer) for n in ("survey_id", "nps", "csat", "ces")),
        Column("polarity", Float),
    )
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as db:
        db.execute(
            insert(table), [dict(zip(("i", *schema), (i, *row), strict=True)) for i, row in enumerate(rows)]
        )
        c = table.c
        with pytest.raises(ValueError, match="survey column"):
            OWN.dissatisfied_sql(c.nps, c.csat, c.ces, c.polarity)
        rule = OWN.dissatisfied_sql(c.nps, c.csat, c.ces, c.polarity, c.survey_id)
        found = {i for (i,) in db.execute(select(c.i).where(rule))}
    assert [i in found for i in range(len(rows))] == expected


def test_metrics_and_outcome_bands_follow_each_surveys_bands() -> None:
    scores = pl.DataFrame(
        {
            "survey_id": [s for s in (1, 2) for _ in range(11)],
            "nps": [n for _ in (1, 2) for n in range(11)],
            "csat": [1 + n % 5 for _ in (1, 2) for n in range(11)],
        }
    ).with_columns(pl.lit(datetime(2026, 11, 18, tzinfo=UTC)).alias("at"))
    expected = {
        s: (
            sum(OWN.band("nps", n, s) == "high" for n in range(11))
            - sum(OWN.band("nps", n, s) == "low" for n in range(11)),
            sum(OWN.band("csat", 1 + n % 5, s) == "high" for n in range(11)),
        )
        for s in (1, 2)
    }
    rows = summarize(scores, ["nps", "csat"], by=["survey_id"], min_n=1, cutoffs=OWN)
    counts = summarize(
        to_counts(scores, ["survey_id"], "responses", scores["at"][0]),
        ["nps", "csat"],
        by=["survey_id"],
        min_n=1,
        cutoffs=OWN,
    )
    for table in (rows, counts):
        got = {
            s: (round(nps * 11 / 100), round(csat * 11 / 100))
            for s, nps, csat in zip(
                table.filter(pl.col("metric") == "nps")["survey_id"],
                table.filter(pl.col("metric") == "nps")["value"],
                table.filter(pl.col("metric") == "csat")["value"],
                strict=True,
            )
        }
        assert got == expected
    assert expected[1] != expected[2]
    banded = scores.select("survey_id", "nps", band_expr("nps", pl.col("nps"), OWN).alias("band"))
    assert banded["band"].to_list() == [OWN.band_name("nps", n, s) for s, n, _ in banded.iter_rows()]
