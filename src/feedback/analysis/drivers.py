"""Drivers: how satisfaction moves with the context of the interaction, told in numbers and in words.

For one outcome (NPS, CSAT %, CES, CES easy %, sentiment) and one driver (handle time, wait time,
first-contact resolution, channel) the responses are split into groups (time bands in minutes, or the
driver's values).
Each group gets the outcome with n and its 95% interval (the same definitions as the headline metrics), and
the difference from everyone else with a 95% interval (normal approximation on the per-answer coding:
NPS +100/0/-100, shares 0/100, means as they are). Numeric drivers also get Spearman's rank correlation with
the raw score and its Fisher-z interval. ``readings`` says in plain words what is clear and what is not.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from feedback.analysis.intervals import Z95, fisher_interval
from feedback.analysis.metrics import summarize
from feedback.analysis.scales import DEFAULT_CUTOFFS, Cutoffs

DriverKind = Literal["numeric", "category"]


@dataclass(frozen=True)
class DriverDef:
    name: str
    column: str
    kind: DriverKind
    subject: str  # "customers {subject} {label}"
    default_bands: tuple[float, ...] = ()  # minutes


DRIVERS: dict[str, DriverDef] = {
    d.name: d
    for d in (
        DriverDef("handle_time", "handle_time_s", "numeric", "whose handle time was", (3, 6, 10, 20)),
        DriverDef("wait_time", "wait_time_s", "numeric", "who waited", (1, 3, 10)),
        DriverDef("first_contact_resolved", "first_contact_resolved", "category", "whose issue was"),
        DriverDef("channel", "channel", "category", "who came through"),
    )
}

OUTCOMES = ("nps", "csat", "ces", "ces_easy", "sentiment")
_RAW = {"nps": "nps", "csat": "csat", "ces": "ces", "ces_easy": "ces", "sentiment": "polarity"}
_GAVE = {
    "nps": "gave an NPS {amount} {direction}",
    "csat": "gave a CSAT {amount} {direction}",
    "ces": "gave a CES {amount} {direction}",
    "ces_easy": "said it was easy {amount} {direction}",
    "sentiment": "wrote comments {amount} {direction} in sentiment",
}
_UNIT = {
    "nps": "points",
    "csat": "percentage points",
    "ces": "points",
    "ces_easy": "percentage points",
    "sentiment": "",
}


def _coded(metric: str, cutoffs: Cutoffs) -> pl.Expr:
    """Each answer's contribution to the metric (the metric is the mean of this)."""
    if metric == "nps":
        nps = pl.col("nps")
        return (
            pl.when(cutoffs.high("nps", nps))
            .then(100.0)
            .when(cutoffs.low("nps", nps))
            .then(-100.0)
            .otherwise(pl.when(nps.is_not_null()).then(0.0))
        )
    if metric in ("csat", "ces_easy"):
        share: pl.Expr = cutoffs.high(_RAW[metric], pl.col(_RAW[metric])).cast(pl.Float64) * 100
        return share
    return pl.col(_RAW[metric]).cast(pl.Float64)


@dataclass(frozen=True)
class GroupStat:
    label: str
    n: int
    value: float | None
    low: float | None
    high: float | None
    small_sample: bool
    rest_value: float | None  # everyone else's
    rest_n: int
    difference: float | None  # value - rest_value
    difference_low: float | None
    difference_high: float | None


@dataclass(frozen=True)
class Correlation:
    method: str
    r: float
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class DriverResult:
    metric: str
    driver: str
    n: int
    groups: list[GroupStat]
    correlation: Correlation | None
    readings: list[str]


def _fmt_minutes(m: float) -> str:
    return f"{m:g} min"


def band_labels(bands: Sequence[float]) -> list[str]:
    """Labels of the bands cut at ``bands`` minutes: under 3 min, 3-6 min, ..., 20 min or more."""
    labels = [f"under {_fmt_minutes(bands[0])}"]
    labels += [f"{lo:g}-{_fmt_minutes(hi)}" for lo, hi in itertools.pairwise(bands)]
    labels.append(f"{_fmt_minutes(bands[-1])} or more")
    return labels


def _group_expr(driver: DriverDef, bands: Sequence[float]) -> pl.Expr:
    col = pl.col(driver.column)
    if driver.kind == "numeric":
        labels = band_labels(bands)
        expr: pl.Expr = pl.lit(labels[-1])
        for cut, label in reversed(list(zip(bands, labels, strict=False))):
            expr = pl.when(col < cut * 60).then(pl.lit(label)).otherwise(expr)
        return pl.when(col.is_not_null()).then(expr)
    if driver.name == "first_contact_resolved":
        return (
            pl.when(col)
            .then(pl.lit("resolved at the first contact"))
            .when(col.not_())
            .then(pl.lit("not resolved at the first contact"))
        )
    return col.cast(pl.String)


def analyze_driver(
    frame: pl.DataFrame,
    metric: str,
    driver: str,
    bands: Sequence[float] | None = None,
    min_n: int = 30,
    cutoffs: Cutoffs = DEFAULT_CUTOFFS,
) -> DriverResult:
    """How ``metric`` differs across the groups of ``driver`` in ``frame`` (a responses frame)."""
    spec = DRIVERS[driver]
    cuts = sorted(bands or spec.default_bands)
    data = frame.with_columns(
        _group_expr(spec, cuts).alias("group"), _coded(metric, cutoffs).alias("_y")
    ).filter(pl.col("group").is_not_null() & pl.col("_y").is_not_null())
    n_all = data.height
    summary = summarize(data, [metric], by=["group"], min_n=min_n, cutoffs=cutoffs)
    moments = data.group_by("group").agg(
        pl.len().alias("n"), pl.col("_y").sum().alias("s"), (pl.col("_y") ** 2).sum().alias("s2")
    )
    total_s, total_s2 = float(moments["s"].sum() or 0.0), float(moments["s2"].sum() or 0.0)
    by_label = {row["group"]: row for row in moments.iter_rows(named=True)}
    order = band_labels(cuts) if spec.kind == "numeric" else sorted(by_label)
    stats_by_label = {row["group"]: row for row in summary.iter_rows(named=True)}
    groups = []
    for label in order:
        if label not in by_label:
            continue
        m, s = by_label[label], stats_by_label[label]
        rest_n = n_all - m["n"]
        difference = dlow = dhigh = rest_value = None
        if rest_n >= 2 and m["n"] >= 2:
            mean_g, var_g = _mean_var(m["n"], m["s"], m["s2"])
            mean_r, var_r = _mean_var(rest_n, total_s - m["s"], total_s2 - m["s2"])
            rest_value = mean_r
            difference = mean_g - mean_r
            se = math.sqrt(var_g / m["n"] + var_r / rest_n)
            dlow, dhigh = difference - Z95 * se, difference + Z95 * se
        groups.append(
            GroupStat(
                label,
                m["n"],
                s["value"],
                s["low"],
                s["high"],
                s["small_sample"],
                rest_value,
                rest_n,
                difference,
                dlow,
                dhigh,
            )
        )
    correlation = _correlation(data, spec, metric)
    return DriverResult(
        metric, driver, n_all, groups, correlation, _readings(spec, metric, groups, correlation, min_n)
    )


def _mean_var(n: int, s: float, s2: float) -> tuple[float, float]:
    mean = s / n
    return mean, max(0.0, (s2 - n * mean * mean) / (n - 1))


def _correlation(data: pl.DataFrame, spec: DriverDef, metric: str) -> Correlation | None:
    if spec.kind != "numeric" and spec.name != "first_contact_resolved":
        return None
    x, y = pl.col(spec.column).cast(pl.Float64), pl.col(_RAW[metric]).cast(pl.Float64)
    pairs = data.select(x.alias("x"), y.alias("y")).drop_nulls()
    n = pairs.height
    if n < 4:
        return None
    method = "spearman" if spec.kind == "numeric" else "pearson (point-biserial)"
    if spec.kind == "numeric":
        pairs = pairs.select(pl.col("x").rank("average"), pl.col("y").rank("average"))
    r = pairs.select(pl.corr("x", "y")).item()
    if r is None or not math.isfinite(r):
        return None
    low, high = fisher_interval(r, n, 1.06 if spec.kind == "numeric" else 1.0)
    return Correlation(method, float(r), low, high, n)


def _signed(value: float, metric: str) -> str:
    return f"{value:+.2f}" if metric == "sentiment" else f"{value:+.0f}"


def _amount(value: float, metric: str) -> str:
    unit = _UNIT[metric]
    number = f"{abs(value):.2f}" if metric == "sentiment" else f"{abs(value):.0f}"
    return f"{number} {unit}".strip()


def _readings(
    spec: DriverDef, metric: str, groups: list[GroupStat], corr: Correlation | None, min_n: int
) -> list[str]:
    lines = []
    for g in groups:
        who = f"Customers {spec.subject} {g.label}"
        if g.difference is None or g.difference_low is None or g.difference_high is None:
            continue
        if g.small_sample:
            lines.append(f"{who}: too few answers to tell (n={g.n:,}, fewer than {min_n}).")
            continue
        if g.difference_low > 0 or g.difference_high < 0:
            direction = "higher" if g.difference > 0 else "lower"
            if metric == "ces_easy":
                direction = "more often" if g.difference > 0 else "less often"
            lines.append(
                f"{who} {_GAVE[metric].format(amount=_amount(g.difference, metric), direction=direction)} "
                f"than the others "
                f"({_signed(g.value or 0.0, metric)} vs {_signed(g.rest_value or 0.0, metric)}; "
                f"n={g.n:,} vs {g.rest_n:,}; 95% interval of the difference "
                f"{_signed(g.difference_low, metric)} to {_signed(g.difference_high, metric)})."
            )
        else:
            lines.append(
                f"{who}: no clear difference from the others ({_signed(g.difference, metric)}, 95% interval "
                f"{_signed(g.difference_low, metric)} to {_signed(g.difference_high, metric)}; n={g.n:,})."
            )
    if spec.kind == "numeric" and corr is not None and corr.low is not None and corr.high is not None:
        what = spec.name.replace("_", " ")
        if corr.low > 0 or corr.high < 0:
            direction = "higher" if corr.r > 0 else "lower"
            lines.append(
                f"Overall, more {what} goes with {direction} scores ({corr.method} r={corr.r:+.2f}, "
                f"95% interval {corr.low:+.2f} to {corr.high:+.2f}, n={corr.n:,})."
            )
        else:
            lines.append(
                f"Overall, no clear relation between {what} and the score ({corr.method} "
                f"r={corr.r:+.2f}, 95% interval {corr.low:+.2f} to {corr.high:+.2f}, n={corr.n:,})."
            )
    return lines
