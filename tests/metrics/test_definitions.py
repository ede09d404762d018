"""Metric definitions and intervals against small cases computed by hand."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from feedback.analysis.intervals import mean_interval, nps_interval, wilson
from feedback.analysis.metrics import Period, summarize, with_previous, with_targets
from tests.metrics.data import at


def responses(**columns: list[object]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, object] = {"at": [at("2026-11-02 12:00")] * n}
    base.update(columns)
    return pl.DataFrame(base).with_columns(pl.col("at").dt.replace_time_zone("UTC"))


def value(table: pl.DataFrame, metric: str, **where: object) -> dict[str, object]:
    rows = table.filter(pl.col("metric") == metric)
    for name, wanted in where.items():
        rows = rows.filter(pl.col(name) == wanted)
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_nps_is_promoters_minus_detractors() -> None:
    frame = responses(nps=[10, 9, 9, 8, 3])  # 3 promoters, 1 passive, 1 detractor
    row = value(summarize(frame, ["nps"]), "nps")
    assert row["value"] == pytest.approx(40.0)
    assert row["n"] == 5
    assert -100 <= row["low"] < 40 < row["high"] <= 100


def test_nps_ignores_responses_without_the_question() -> None:
    frame = responses(nps=[10, None, 0, None])
    row = value(summarize(frame, ["nps"]), "nps")
    assert (row["value"], row["n"]) == (0.0, 2)


def test_csat_ces_fcr_volume_and_sentiment() -> None:
    frame = responses(
        csat=[5, 4, 3, 1, None],
        ces=[7, 5, 4, 2, 1],
        first_contact_resolved=[True, True, False, None, True],
        polarity=[0.5, -0.5, None, 0.25, 0.0],
    )
    table = summarize(frame, ["csat", "ces", "ces_easy", "fcr", "volume", "sentiment"])
    assert value(table, "csat")["value"] == pytest.approx(50.0)  # 2 of 4 gave 4-5
    assert value(table, "csat")["n"] == 4
    assert value(table, "ces")["value"] == pytest.approx(19 / 5)
    assert value(table, "ces_easy")["value"] == pytest.approx(40.0)  # 7 and 5 of five
    assert value(table, "fcr")["value"] == pytest.approx(75.0)  # 3 of the 4 that say
    assert value(table, "volume")["value"] == 5
    sentiment = value(table, "sentiment")
    assert sentiment["value"] == pytest.approx(0.0625) and sentiment["n"] == 4
    _, low, high = mean_interval([0.5, -0.5, 0.25, 0.0])
    assert (sentiment["low"], sentiment["high"]) == (pytest.approx(low), pytest.approx(high))


def test_response_rate_is_answered_invitations_over_sent() -> None:
    invitations = responses(responded=[True, False, False, True, False])
    row = value(summarize(invitations, ["response_rate"]), "response_rate")
    assert (row["value"], row["n"]) == (pytest.approx(40.0), 5)


def test_wilson_interval_matches_the_textbook_value() -> None:
    # 81 successes in 263 trials (Wilson 1927 / Newcombe 1998 example): 0.2553 to 0.3662
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    table = summarize(responses(first_contact_resolved=[True] * 81 + [False] * 182), ["fcr"])
    row = value(table, "fcr")
    assert (row["low"], row["high"]) == (pytest.approx(25.53, abs=0.01), pytest.approx(36.62, abs=0.01))


def test_nps_interval_is_wide_on_few_answers_and_narrow_on_many() -> None:
    _, low5, high5 = nps_interval(5, 0, 5)
    assert high5 == 100 and low5 < 60  # five promoters of five do not prove an NPS of 100
    v, low, high = nps_interval(500, 200, 1000)
    assert v == pytest.approx(30)
    # +1/0/-1 coding: variance 0.7 - 0.09 = 0.61; se = sqrt(0.61/1000) = 0.0247 -> +/- 4.8 points
    assert high - low == pytest.approx(2 * 1.96 * math.sqrt(0.61 / 1000) * 100, rel=0.02)


def test_small_samples_are_flagged() -> None:
    frame = responses(nps=[9] * 29 + [3] * 31, team=["a"] * 29 + ["b"] * 31)
    table = summarize(frame, ["nps", "volume"], by=["team"], min_n=30)
    assert value(table, "nps", team="a")["small_sample"] is True
    assert value(table, "nps", team="b")["small_sample"] is False
    assert value(table, "volume", team="a")["small_sample"] is False  # a count is not an estimate


def test_periods_follow_the_chosen_time_zone() -> None:
    # Sunday 2026-11-22 23:30 UTC is Monday 00:30 in Berlin: a new day and a new week there.
    frame = pl.DataFrame({"at": [at("2026-11-22 23:30"), at("2026-11-22 12:00")], "nps": [10, 0]})
    utc_weeks = summarize(frame, ["volume"], period=Period.WEEK, tz="UTC")
    assert utc_weeks["period"].to_list() == [date(2026, 11, 16)]
    berlin_days = summarize(frame, ["volume"], period=Period.DAY, tz="Europe/Berlin")
    assert berlin_days["period"].to_list() == [date(2026, 11, 22), date(2026, 11, 23)]
    berlin_weeks = summarize(frame, ["nps"], period=Period.WEEK, tz="Europe/Berlin")
    assert dict(zip(berlin_weeks["period"], berlin_weeks["value"], strict=True)) == {
        date(2026, 11, 16): -100.0,
        date(2026, 11, 23): 100.0,
    }
    months = summarize(frame, ["volume"], period=Period.MONTH, tz="Pacific/Auckland")  # UTC+13: Nov 23
    assert months["period"].to_list() == [date(2026, 11, 1)]


def test_change_against_the_previous_period_skips_nothing() -> None:
    frame = pl.DataFrame(
        {
            "at": [
                at("2026-10-05 10:00"),
                at("2026-10-06 10:00"),
                at("2026-10-12 10:00"),
                at("2026-10-26 10:00"),
            ],
            "csat": [5, 1, 5, 5],
        }
    )
    table = summarize(frame, ["csat"], period=Period.WEEK)
    changed = with_previous(table, table, [], Period.WEEK)
    rows = {r["period"]: r for r in changed.iter_rows(named=True)}
    assert rows[date(2026, 10, 5)]["previous"] is None
    assert rows[date(2026, 10, 12)]["previous"] == pytest.approx(50.0)
    assert rows[date(2026, 10, 12)]["change"] == pytest.approx(50.0)
    assert rows[date(2026, 10, 26)]["previous"] is None  # the week of 19 October had no answers


def test_targets_apply_by_department_and_contractor() -> None:
    frame = responses(nps=[10, 10, 0, 10], department=["support", "support", "sales", "sales"])
    table = summarize(frame, ["nps", "volume"], by=["department"])
    targets = pl.DataFrame(
        {
            "metric": ["nps", "nps"],
            "dimension": ["department", "department"],
            "value": ["support", "sales"],
            "target": [50.0, 20.0],
        }
    )
    out = with_targets(table, targets, ["department"])
    support, sales = value(out, "nps", department="support"), value(out, "nps", department="sales")
    assert (support["target"], support["target_gap"], support["target_met"]) == (50.0, 50.0, True)
    assert (sales["target"], sales["target_gap"], sales["target_met"]) == (20.0, -20.0, False)
    assert value(out, "volume", department="sales")["target"] is None
    contractor = pl.DataFrame(
        {"metric": ["nps"], "dimension": ["contractor"], "value": ["acme"], "target": [90.0]}
    )
    fixed = with_targets(
        summarize(frame, ["nps"]),
        pl.concat([targets, contractor]),
        [],
        {"department": "support", "contractor": "acme"},
    )
    assert value(fixed, "nps")["target"] == 90.0  # the contractor's target is the more specific one
