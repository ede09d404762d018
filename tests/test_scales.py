"""The survey vocabulary: scale ranges, bands, the one "dissatisfied" rule, its settings."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import Column, Float, Integer, MetaData, Table, create_engine, insert, select

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
