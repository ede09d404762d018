"""Satisfaction metrics over Polars frames: by period and any dimension, each with n and a 95% interval.

Input frames (the services read them from the database; tests build them by hand):

- responses: ``at`` (Datetime, UTC), the dimensions to group by, ``nps`` (0-10), ``csat`` (1-5), ``ces``
  (1-7), ``first_contact_resolved`` (bool) and ``polarity`` (the response's mean comment polarity, -1..1);
- invitations: ``at`` (when sent), the dimensions, ``responded`` (bool);
- mentions: ``at`` (when posted), the dimensions (``source``, ...), ``polarity``.

Definitions (docs: README "Metrics"; bands from analysis/scales.py, defaults shown): NPS = % promoters
(9-10) - % detractors (0-6); CSAT = % satisfied (4-5); CES = mean score, CES easy = % of 5-7; dissatisfied =
% of responses the one "dissatisfied" rule of scales.py counts (of those it can judge); FCR = % resolved at
the first contact; response rate = % of invitations answered (by the invitation's send time); volume =
responses; sentiment = mean polarity of the comments. Shares are in percent. Nulls are "not asked",
never zero.

Output: a long table, one row per (period, group, metric) with value, n, low, high, small_sample.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

import polars as pl

from feedback.analysis.intervals import nps_exprs, t_quantiles, wilson_exprs
from feedback.analysis.scales import DEFAULT_CUTOFFS, Cutoffs

Source = Literal["responses", "invitations", "mentions"]
Kind = Literal["nps", "share", "mean", "count"]


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # weeks start on Monday
    MONTH = "month"


_EVERY = {Period.DAY: "1d", Period.WEEK: "1w", Period.MONTH: "1mo"}
_STEP = {Period.DAY: "1d", Period.WEEK: "1w", Period.MONTH: "1mo"}


@dataclass(frozen=True)
class MetricDef:
    name: str
    source: Source
    kind: Kind
    column: str  # the input column it reads (for count: any)
    label: str
    also_reads: tuple[str, ...] = ()  # more input columns, beside ``column``

    @property
    def reads(self) -> tuple[str, ...]:
        return (self.column, *self.also_reads)


METRICS: dict[str, MetricDef] = {
    m.name: m
    for m in (
        MetricDef("nps", "responses", "nps", "nps", "NPS"),
        MetricDef("csat", "responses", "share", "csat", "CSAT %"),
        MetricDef("ces", "responses", "mean", "ces", "CES (mean, 1-7)"),
        MetricDef("ces_easy", "responses", "share", "ces", "CES easy % (5-7)"),
        MetricDef("dissatisfied", "responses", "share", "nps", "dissatisfied %", ("csat", "ces", "polarity")),
        MetricDef("fcr", "responses", "share", "first_contact_resolved", "FCR %"),
        MetricDef("response_rate", "invitations", "share", "responded", "response rate %"),
        MetricDef("volume", "responses", "count", "at", "responses"),
        MetricDef("sentiment", "responses", "mean", "polarity", "comment sentiment (-1..1)"),
        MetricDef("mention_volume", "mentions", "count", "at", "mentions"),
        MetricDef("mention_sentiment", "mentions", "mean", "polarity", "mention sentiment (-1..1)"),
    )
}

RESULT_COLUMNS = ("metric", "value", "n", "low", "high", "small_sample")


def period_expr(at: pl.Expr, period: Period, tz: str) -> pl.Expr:
    """The first day (a Date, local to ``tz``) of the day, week (Monday) or month that ``at`` falls in."""
    return at.dt.convert_time_zone(tz).dt.truncate(_EVERY[period]).dt.date()


def with_period(frame: pl.DataFrame, period: Period | None, tz: str) -> pl.DataFrame:
    """``frame`` with a ``period`` column (null when ``period`` is None).

    Time-zone conversion is done once per distinct quarter hour (every UTC offset in use is a multiple of
    15 minutes), not once per row.
    """
    if period is None:
        return frame.with_columns(pl.lit(None, pl.Date).alias("period"))
    quarter = (pl.col("at").dt.epoch("s") // 900).alias("_quarter")
    keyed = frame.with_columns(quarter)
    buckets = (
        keyed.select("_quarter")
        .unique()
        .with_columns(
            period_expr(
                pl.from_epoch(pl.col("_quarter") * 900, "s").dt.replace_time_zone("UTC"), period, tz
            ).alias("period")
        )
    )
    return keyed.join(buckets, on="_quarter", how="left").drop("_quarter")


def next_period(period: Period) -> str:
    """The Polars offset from one period's first day to the next's."""
    return _STEP[period]


def _aggregations(metric: MetricDef, cutoffs: Cutoffs) -> list[pl.Expr]:
    name, col = metric.name, pl.col(metric.column)
    if metric.kind == "count":
        return [pl.len().alias(f"{name}:n")]
    if metric.kind == "nps":
        return [
            col.count().alias(f"{name}:n"),
            cutoffs.high("nps", col).cast(pl.Int64).sum().alias(f"{name}:pro"),
            cutoffs.low("nps", col).cast(pl.Int64).sum().alias(f"{name}:det"),
        ]
    if name == "dissatisfied":
        return [
            cutoffs.judged_expr().cast(pl.Int64).sum().alias(f"{name}:n"),
            cutoffs.dissatisfied_expr().cast(pl.Int64).sum().alias(f"{name}:k"),
        ]
    if metric.kind == "mean":
        return [
            col.count().alias(f"{name}:n"),
            col.mean().alias(f"{name}:mean"),
            col.std().alias(f"{name}:sd"),
        ]
    success = {"csat": cutoffs.high("csat", col), "ces_easy": cutoffs.high("ces", col)}.get(name, col)
    n = pl.len() if name == "response_rate" else col.count()
    return [n.alias(f"{name}:n"), success.cast(pl.Int64).sum().alias(f"{name}:k")]


def _finish(grouped: pl.DataFrame, metric: MetricDef, keys: list[str], min_n: int) -> pl.DataFrame:
    name = metric.name
    n = pl.col(f"{name}:n")
    if metric.kind == "count":
        value, low, high = n.cast(pl.Float64), pl.lit(None, pl.Float64), pl.lit(None, pl.Float64)
        small = pl.lit(False)
    else:
        small = n < min_n
        if metric.kind == "nps":
            value, low, high = nps_exprs(pl.col(f"{name}:pro"), pl.col(f"{name}:det"), n)
        elif metric.kind == "share":
            value = pl.when(n > 0).then(pl.col(f"{name}:k").cast(pl.Float64) / n * 100)
            low, high = wilson_exprs(pl.col(f"{name}:k"), n)
        else:
            grouped = grouped.with_columns(t_quantiles(grouped[f"{name}:n"]).alias("_t"))
            value = pl.col(f"{name}:mean")
            half = pl.col("_t") * pl.col(f"{name}:sd") / n.cast(pl.Float64).sqrt()
            low, high = value - half, value + half
    out = grouped.select(
        *keys,
        pl.lit(name).alias("metric"),
        value.cast(pl.Float64).alias("value"),
        n.cast(pl.Int64).alias("n"),
        low.cast(pl.Float64).alias("low"),
        high.cast(pl.Float64).alias("high"),
        small.alias("small_sample"),
    )
    return out if metric.kind == "count" else out.filter(pl.col("n") > 0)


# -- daily counts (the rollups' shape) ----------------------------------------------------------------------

# The scores each histogram column counts (``nps_9`` counts nines). Counts frames have a ``rows`` column (how
# many responses or invitations a row stands for) and these columns instead of one row per response.
SCORES = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8)}


_COUNT_COLUMNS = {
    "rows",
    *(f"{scale}_{s}" for scale, scores in SCORES.items() for s in scores),
    *("fcr_yes", "fcr_no", "comments", "polarity_sum", "polarity_sq", "responded", "judged", "dissatisfied"),
}


# What daily counts always answer: not "dissatisfied", which looks at all of a response's scores at once, so
# counts of it hold for the cut-offs they were counted by only (``judged`` and ``dissatisfied`` columns).
COUNTABLE = frozenset(m for m in METRICS if m != "dissatisfied")


def is_counts(frame: pl.DataFrame) -> bool:
    """Whether ``frame`` holds daily counts rather than one row per response or invitation."""
    return "rows" in frame.columns


def to_counts(
    frame: pl.DataFrame, by: Sequence[str], source: Source, at: datetime, cutoffs: Cutoffs = DEFAULT_CUTOFFS
) -> pl.DataFrame:
    """Rows of ``source`` as counts by ``by``, dated ``at`` (to add to counts read from the rollups);
    responses with every column the dissatisfied rule reads are counted as judged and dissatisfied by
    ``cutoffs``."""
    if source == "invitations":
        sums = [pl.len().alias("rows"), pl.col("responded").cast(pl.Int64).sum().alias("responded")]
    else:
        sums = [pl.len().alias("rows")]
        for scale, scores in SCORES.items():
            if scale in frame.columns:
                sums += [(pl.col(scale) == s).cast(pl.Int64).sum().alias(f"{scale}_{s}") for s in scores]
        if "first_contact_resolved" in frame.columns:
            fcr = pl.col("first_contact_resolved")
            sums += [fcr.cast(pl.Int64).sum().alias("fcr_yes"), (~fcr).cast(pl.Int64).sum().alias("fcr_no")]
        if "polarity" in frame.columns:
            polarity = pl.col("polarity")
            sums += [
                polarity.count().alias("comments"),
                polarity.sum().alias("polarity_sum"),
                (polarity * polarity).sum().alias("polarity_sq"),
            ]
        if set(METRICS["dissatisfied"].reads) <= set(frame.columns):
            sums += [
                cutoffs.judged_expr().cast(pl.Int64).sum().alias("judged"),
                cutoffs.dissatisfied_expr().cast(pl.Int64).sum().alias("dissatisfied"),
            ]
    counts = frame.group_by(by).agg(sums) if by else frame.select(sums)
    return counts.filter(pl.col("rows") > 0).with_columns(pl.lit(at, pl.Datetime("us", "UTC")).alias("at"))


def _hist(scale: str, scores: Iterable[int]) -> pl.Expr:
    return pl.sum_horizontal(pl.col(f"{scale}_{s}") for s in scores)


def _count_aggregations(metric: MetricDef, cutoffs: Cutoffs) -> list[pl.Expr]:
    """``_aggregations`` of a metric over summed daily counts (every metric of COUNTABLE)."""
    name, column = metric.name, metric.column
    if metric.kind == "count":
        return [pl.col("rows").alias(f"{name}:n")]
    if name == "dissatisfied":
        return [pl.col("judged").alias(f"{name}:n"), pl.col("dissatisfied").alias(f"{name}:k")]
    if column in SCORES:
        scores = SCORES[column]
        n, high = _hist(column, scores), pl.col(f"{column}:high")
        if metric.kind == "nps":
            low = pl.col(f"{column}:low")
            return [n.alias(f"{name}:n"), high.alias(f"{name}:pro"), low.alias(f"{name}:det")]
        if metric.kind == "mean":
            total = pl.sum_horizontal(pl.col(f"{column}_{s}") * s for s in scores)
            squares = pl.sum_horizontal(pl.col(f"{column}_{s}") * s * s for s in scores)
            return _mean_sd(name, n, total, squares)
        return [n.alias(f"{name}:n"), high.alias(f"{name}:k")]  # csat, ces_easy: the high band's share
    if column == "polarity":
        return _mean_sd(name, pl.col("comments"), pl.col("polarity_sum"), pl.col("polarity_sq"))
    if column == "first_contact_resolved":
        yes, no = pl.col("fcr_yes"), pl.col("fcr_no")
        return [(yes + no).alias(f"{name}:n"), yes.alias(f"{name}:k")]
    return [pl.col("rows").alias(f"{name}:n"), pl.col("responded").alias(f"{name}:k")]  # response rate


def _band_counts(columns: Collection[str], cutoffs: Cutoffs) -> list[pl.Expr]:
    """Per row of daily counts: how many of its scores fall in each scale's low and high band (``nps:low``,
    ``nps:high``, ...), by the bands of the row's survey (``survey_id``) when some survey has its own."""
    out = []
    for scale, scores in SCORES.items():
        if f"{scale}_{scores[0]}" not in columns:
            continue
        for band, test in (("low", cutoffs.low), ("high", cutoffs.high)):
            hits = (pl.when(test(scale, pl.lit(s))).then(pl.col(f"{scale}_{s}")).otherwise(0) for s in scores)
            out.append(pl.sum_horizontal(hits).alias(f"{scale}:{band}"))
    return out


def _mean_sd(name: str, n: pl.Expr, total: pl.Expr, squares: pl.Expr) -> list[pl.Expr]:
    """Mean and sample standard deviation from count, sum and sum of squares."""
    mean = pl.when(n > 0).then(total / n)
    variance = pl.when(n > 1).then(((squares - total * total / n) / (n - 1)).clip(lower_bound=0))
    return [n.alias(f"{name}:n"), mean.alias(f"{name}:mean"), variance.sqrt().alias(f"{name}:sd")]


def summarize(
    frame: pl.DataFrame,
    metrics: Sequence[str],
    by: Sequence[str] = (),
    period: Period | None = None,
    tz: str = "UTC",
    min_n: int = 30,
    cutoffs: Cutoffs = DEFAULT_CUTOFFS,
) -> pl.DataFrame:
    """One row per (period, group, metric): value, n, 95% interval and whether n < ``min_n``.

    All ``metrics`` must read the same kind of frame (see METRICS' source).
    """
    defs = [METRICS[m] for m in metrics]
    keys = ["period", *by]
    if not defs:
        return empty_result(by)
    framed = with_period(frame, period, tz)
    if is_counts(frame):
        bands = _band_counts(frame.columns, cutoffs)
        counts = [c for c in frame.columns if c in _COUNT_COLUMNS] + [b.meta.output_name() for b in bands]
        summed = framed.lazy().with_columns(bands).group_by(keys).agg(pl.col(c).sum() for c in counts)
        aggregations = [e for d in defs for e in _count_aggregations(d, cutoffs)]
        grouped = summed.select(*keys, *aggregations).collect()
    else:
        aggregations = [e for d in defs for e in _aggregations(d, cutoffs)]
        grouped = framed.lazy().group_by(keys).agg(aggregations).collect()
    if grouped.height == 0:
        return empty_result(by, framed.select(by).schema)
    parts = [_finish(grouped, d, keys, min_n) for d in defs]
    return pl.concat(parts, how="vertical").sort([*keys, "metric"], nulls_last=True)


def empty_result(by: Sequence[str], schema: Mapping[str, pl.DataType] | None = None) -> pl.DataFrame:
    dims = {name: (schema or {}).get(name, pl.String) for name in by}
    return pl.DataFrame(
        schema={
            "period": pl.Date,
            **dims,
            "metric": pl.String,
            "value": pl.Float64,
            "n": pl.Int64,
            "low": pl.Float64,
            "high": pl.Float64,
            "small_sample": pl.Boolean,
        }
    )


def with_previous(
    current: pl.DataFrame, previous: pl.DataFrame, by: Sequence[str], period: Period | None
) -> pl.DataFrame:
    """``current`` with ``previous`` (the same group's value one period earlier) and ``change``.

    With a period, ``previous`` may be the same table (rows are matched to the period before theirs);
    without, it is the table of the window just before.
    """
    keys = ["metric", *by]
    earlier = previous.select(*keys, "period", pl.col("value").alias("previous"))
    if period is not None:
        earlier = earlier.with_columns(pl.col("period").dt.offset_by(next_period(period)))
        keys = [*keys, "period"]
    else:
        earlier = earlier.drop("period")
    joined = current.join(earlier, on=keys, how="left", nulls_equal=True)
    return joined.with_columns((pl.col("value") - pl.col("previous")).alias("change"))


TARGET_DIMENSIONS = ("department", "contractor")  # a contractor's target wins over its department's


def with_targets(
    table: pl.DataFrame, targets: pl.DataFrame, by: Sequence[str], fixed: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """``table`` with the ``target`` that applies to each row, ``target_gap`` and ``target_met``.

    ``targets`` has columns metric, dimension, value, target. A target applies to a row when the row is
    grouped by its dimension with that value, or when the whole query is limited to that value (``fixed``).
    Every metric with a target is one where higher is better.
    """
    fixed = fixed or {}
    out = table.with_columns(pl.lit(None, pl.Float64).alias("target"))
    for dimension in TARGET_DIMENSIONS:
        mine = targets.filter(pl.col("dimension") == dimension)
        if mine.height == 0:
            continue
        if dimension in by:
            lookup = mine.select("metric", pl.col("value").alias("_tv"), pl.col("target").alias("_target"))
            out = (
                out.with_columns(pl.col(dimension).cast(pl.String).alias("_tv"))
                .join(lookup, on=["metric", "_tv"], how="left")
                .drop("_tv")
            )
        elif dimension in fixed:
            lookup = mine.filter(pl.col("value") == fixed[dimension]).select(
                "metric", pl.col("target").alias("_target")
            )
            out = out.join(lookup, on="metric", how="left")
        else:
            continue
        out = out.with_columns(pl.coalesce("_target", "target").alias("target")).drop("_target")
    return out.with_columns(
        (pl.col("value") - pl.col("target")).alias("target_gap"),
        (pl.col("value") >= pl.col("target")).alias("target_met"),
    )
