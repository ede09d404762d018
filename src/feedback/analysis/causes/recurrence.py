"""The recurrence ledger: for each cause and period, how often it came back and what it cost.

Input: one row per piece of feedback (a response or a mention: ``key``, ``occurred_at``, ``nps``, ``csat``)
and the causes found in it (``key``, ``cause_id``; a response counts once per cause however many of its
answers raised it). Per cause and period:

- ``count``: feedback that raised the cause; ``share``: count / all feedback of the period;
- ``nps_points_lost``: (NPS of the responses that did not raise it - NPS of those that did) x the share of
  NPS responses that raised it: how many NPS points the period's NPS would gain if the customers who raised
  it had scored like the others (NPS = % promoters - % detractors, bands of analysis/scales.py);
  ``csat_points_lost`` the same with CSAT% (share of satisfied answers). Null when either side has no score;
- ``first_seen``: the cause's first feedback ever; ``last_seen``: its last in the period;
- ``trend``: ``new`` (never before this period), else the share against the mean share of the previous
  ``TREND_WINDOW`` periods (absent periods count as 0): ``growing`` at >= x1.25, ``shrinking`` at <= x0.8,
  else ``steady``.

Rows run from each cause's first period to the last period with any feedback, so a cause that stopped
coming back shows as shrinking with count 0.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from feedback.analysis.scales import DEFAULT_CUTOFFS, Cutoffs

Grain = Literal["week", "month"]
TREND_WINDOW = 3
GROWING = 1.25
SHRINKING = 0.8
EVERY = {"week": "1w", "month": "1mo"}


def period_start(occurred_at: pl.Expr, grain: Grain) -> pl.Expr:
    return occurred_at.dt.truncate(EVERY[grain]).dt.date()


def period_name(start: pl.Expr, grain: Grain) -> pl.Expr:
    if grain == "month":
        return start.dt.strftime("%Y-%m")
    return pl.format("{}-W{}", start.dt.iso_year(), start.dt.week().cast(pl.Utf8).str.zfill(2))


def _scores(prefix: str, cutoffs: Cutoffs) -> list[pl.Expr]:
    nps, csat = pl.col("nps"), pl.col("csat")
    promoters = cutoffs.high("nps", nps).cast(pl.Int64).sum()
    detractors = cutoffs.low("nps", nps).cast(pl.Int64).sum()
    return [
        nps.is_not_null().sum().alias(f"{prefix}nps_n"),
        (promoters - detractors).alias(f"{prefix}nps_net"),
        csat.is_not_null().sum().alias(f"{prefix}csat_n"),
        cutoffs.high("csat", csat).cast(pl.Int64).sum().alias(f"{prefix}csat_good"),
    ]


def _lost(metric: str, good: str) -> pl.Expr:
    """Points lost for NPS (good = net promoters) or CSAT% (good = satisfied answers)."""
    n_with, n_all = pl.col(f"with_{metric}_n"), pl.col(f"all_{metric}_n")
    n_without = n_all - n_with
    score_with = 100 * pl.col(f"with_{good}") / n_with
    score_without = 100 * (pl.col(f"all_{good}") - pl.col(f"with_{good}")) / n_without
    return (
        pl.when((n_with > 0) & (n_without > 0))
        .then((score_without - score_with) * n_with / n_all)
        .otherwise(None)
    )


def compute_ledger(
    feedback: pl.DataFrame, raised: pl.DataFrame, grain: Grain = "week", cutoffs: Cutoffs = DEFAULT_CUTOFFS
) -> pl.DataFrame:
    """The ledger (see the module docstring): one row per cause and period, sorted by cause and period."""
    own_bands = ["survey_id"] if "survey_id" in feedback.columns else []  # whose bands judge the scores
    fb = feedback.select("key", "occurred_at", "nps", "csat", *own_bands).with_columns(
        period_start(pl.col("occurred_at"), grain).alias("period_start")
    )
    totals = fb.group_by("period_start").agg(pl.len().alias("total"), *_scores("all_", cutoffs))
    hits = raised.select("key", "cause_id").unique().join(fb, on="key", how="inner")
    per = hits.group_by("cause_id", "period_start").agg(
        pl.len().alias("count"),
        pl.col("occurred_at").max().alias("last_seen"),
        *_scores("with_", cutoffs),
    )
    first = hits.group_by("cause_id").agg(
        pl.col("occurred_at").min().alias("first_seen"), pl.col("period_start").min().alias("first_period")
    )
    grid = first.join(totals.select("period_start"), how="cross").filter(
        pl.col("period_start") >= pl.col("first_period")
    )
    ledger = (
        grid.join(per, on=["cause_id", "period_start"], how="left")
        .join(totals, on="period_start", how="left")
        .with_columns(
            pl.col("count", "with_nps_n", "with_nps_net", "with_csat_n", "with_csat_good").fill_null(0)
        )
        .sort("cause_id", "period_start")
        .with_columns(
            (pl.col("count") / pl.col("total")).alias("share"),
            _lost("nps", "nps_net").alias("nps_points_lost"),
            _lost("csat", "csat_good").alias("csat_points_lost"),
            period_name(pl.col("period_start"), grain).alias("period"),
            pl.col("last_seen").fill_null(pl.col("first_seen")),
        )
        .with_columns(
            pl.col("share")
            .shift(1)
            .rolling_sum(TREND_WINDOW, min_samples=1)
            .over("cause_id")
            .alias("previous_sum"),
            pl.col("share")
            .shift(1)
            .is_not_null()
            .cast(pl.Int64)
            .rolling_sum(TREND_WINDOW, min_samples=1)
            .over("cause_id")
            .alias("previous_n"),
            (pl.col("count").cum_sum().over("cause_id") - pl.col("count")).alias("before"),
        )
    )
    baseline = pl.col("previous_sum") / pl.col("previous_n")
    trend = (
        pl.when(pl.col("before") == 0)
        .then(pl.lit("new"))
        .when(pl.col("share") >= baseline * GROWING)
        .then(pl.lit("growing"))
        .when(pl.col("share") <= baseline * SHRINKING)
        .then(pl.lit("shrinking"))
        .otherwise(pl.lit("steady"))
    )
    named = ledger.with_columns(trend.alias("trend")).rename(
        {"first_seen": "first_seen_at", "last_seen": "last_seen_at"}
    )
    return named.select(
        "cause_id", "period", "period_start", "count", "share", "nps_points_lost", "csat_points_lost",
        "first_seen_at", "last_seen_at", "trend",
    )  # fmt: skip
