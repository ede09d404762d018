"""Does satisfaction pay? What customers did after they answered, by score band, adjusted, with intervals.

Pure functions over Polars frames (the services read them from the database; tests build them):

- responses: ``response_id``, ``person`` (the customer's person id, after the identity map), ``at``
  (Datetime, UTC), ``score`` (the answer on ``scale``), and any control or context columns;
- events: ``person``, ``at``, ``kind`` (order, renewal, cancellation, ...), ``amount`` (may be null).

``link_outcomes`` counts, for each response, only what the person did after it and within the horizon,
and what they did before it (prior orders and spend, tenure). A response whose horizon is not complete
by ``as_of`` is marked ``complete = false``; every figure below leaves those out and says how many.

Statistics come from statsmodels: Wilson intervals for shares, OLS (a linear probability model for yes/no
outcomes) with heteroskedasticity-robust (HC1) standard errors for the adjusted difference, Welch's t for
differences of means; spend by band gets a percentile bootstrap. What this can show is an association in
the company's own rows after the controls, not proof of cause: anything that moves both the score and
what a customer does next, and is not among the controls, stays in the estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

import numpy as np
import polars as pl
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

Outcome = Literal["repeat_purchase", "spend", "orders", "renewal", "churn"]
OUTCOMES: dict[str, str] = {
    "repeat_purchase": "bought again",
    "spend": "spend",
    "orders": "orders",
    "renewal": "renewed",
    "churn": "cancelled",
}
BINARY = {"repeat_purchase", "renewal", "churn"}
PRIOR_CONTROLS = ("prior_orders", "prior_spend", "tenure_days")
Z_POWER = 1.959963984540054 + 0.8416212335729143  # 95% two-sided, 80% power
MIN_N = 30  # per compared group, below which the verdict is "too little data"
BOOTSTRAP_MAX_N = 50_000  # above this a band's spend interval is the normal one (the bootstrap agrees there)
SHOWN, NOT_SHOWN, TOO_LITTLE = "shown", "not shown (interval includes 0)", "too little data"


def band(scale: str, score: int | None) -> str | None:
    """The score band, by the product's definitions (README "Metrics"): NPS promoters 9-10, passives 7-8,
    detractors 0-6; CSAT satisfied 4-5, neutral 3, dissatisfied 1-2; CES easy 5-7, neutral 4, hard 1-3.
    The one adapter to switch to the shared vocabulary."""
    if score is None:
        return None
    cuts = {"nps": (6, 8, ("detractor", "passive", "promoter")), "csat": (2, 3, DEFAULT_BANDS)}
    cuts["ces"] = (3, 4, ("hard", "neutral", "easy"))
    low, mid, names = cuts[scale]
    return names[0] if score <= low else names[1] if score <= mid else names[2]


DEFAULT_BANDS = ("dissatisfied", "neutral", "satisfied")


def band_expr(scale: str, score: pl.Expr) -> pl.Expr:
    """``band`` for a column: the same cut-offs, vectorised."""
    values = {"nps": range(11), "csat": range(1, 6), "ces": range(1, 8)}[scale]
    return score.replace_strict({v: band(scale, v) for v in values}, default=None, return_dtype=pl.String)


# -- linking responses to what came after -----------------------------------------------------------


def _cumulative(events: pl.DataFrame) -> pl.DataFrame:
    kinds = pl.col("kind")
    order = (kinds == "order").cast(pl.Int64)
    return (
        events.select("person", "at", "kind", pl.col("amount").cast(pl.Float64).fill_null(0.0))
        .sort("at")
        .with_columns(
            order.cum_sum().over("person").alias("c_orders"),
            (pl.col("amount") * order).cum_sum().over("person").alias("c_spend"),
            (kinds == "renewal").cast(pl.Int64).cum_sum().over("person").alias("c_renewals"),
            (kinds == "cancellation").cast(pl.Int64).cum_sum().over("person").alias("c_cancellations"),
            pl.col("at").min().over("person").alias("first_at"),
        )
        .select(
            "person",
            pl.col("at").alias("event_at"),
            "c_orders",
            "c_spend",
            "c_renewals",
            "c_cancellations",
            "first_at",
        )
    )


def link_outcomes(
    responses: pl.DataFrame, events: pl.DataFrame, horizon_days: int, as_of: datetime
) -> pl.DataFrame:
    """``responses`` with what each person did before and, within ``horizon_days``, after (see module).

    Added: ``complete``, ``orders``, ``repeat_purchase``, ``spend``, ``renewal``, ``churn`` (after), and
    ``prior_orders``, ``prior_spend``, ``tenure_days`` (before). Events at the response's instant count
    as before it.
    """
    cumulative = _cumulative(events)
    counters = ["c_orders", "c_spend", "c_renewals", "c_cancellations"]
    base = responses.with_columns(
        (pl.col("at") + timedelta(days=horizon_days)).alias("_end"), pl.int_range(pl.len()).alias("_row")
    )

    def at_time(key: str, suffix: str) -> pl.DataFrame:
        probe = base.select("_row", "person", pl.col(key).alias("event_at")).sort("event_at")
        joined = probe.join_asof(
            cumulative, on="event_at", by="person", strategy="backward", check_sortedness=False
        )
        return joined.select(
            "_row",
            *(pl.col(c).fill_null(0).alias(c + suffix) for c in counters),
            pl.col("first_at").alias("first_at" + suffix),
        )

    linked = base.join(at_time("at", "_0"), on="_row").join(at_time("_end", "_1"), on="_row").sort("_row")
    orders = pl.col("c_orders_1") - pl.col("c_orders_0")
    return linked.with_columns(
        (pl.col("_end") <= as_of).alias("complete"),
        orders.alias("orders"),
        (orders > 0).alias("repeat_purchase"),
        (pl.col("c_spend_1") - pl.col("c_spend_0")).alias("spend"),
        (pl.col("c_renewals_1") > pl.col("c_renewals_0")).alias("renewal"),
        (pl.col("c_cancellations_1") > pl.col("c_cancellations_0")).alias("churn"),
        pl.col("c_orders_0").alias("prior_orders"),
        pl.col("c_spend_0").alias("prior_spend"),
        ((pl.col("at") - pl.col("first_at_0")).dt.total_seconds() / 86400)
        .fill_null(0.0)
        .alias("tenure_days"),
    ).drop("_row", "_end", *(c + s for c in counters for s in ("_0", "_1")), "first_at_0", "first_at_1")


# -- by band ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandRow:
    band: str
    n: int
    value: float  # a share in percent, or a mean amount
    low: float
    high: float


def _bootstrap_mean(
    values: np.ndarray, rng: np.random.Generator, resamples: int = 1000
) -> tuple[float, float]:
    n = len(values)
    if n > BOOTSTRAP_MAX_N:
        half = 1.959963984540054 * float(values.std(ddof=1)) / np.sqrt(n)
        return float(values.mean()) - half, float(values.mean()) + half
    means = np.empty(resamples)
    for start in range(0, resamples, 100):  # 100 resamples at a time keeps memory bounded
        idx = rng.integers(0, n, size=(min(100, resamples - start), n))
        means[start : start + len(idx)] = values[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def by_band(linked: pl.DataFrame, outcome: Outcome, seed: int = 0) -> list[BandRow]:
    """The outcome per score band (column ``band``) among complete horizons: n, value, 95% interval."""
    rng = np.random.default_rng(seed)
    rows: list[BandRow] = []
    done = linked.filter(pl.col("complete") & pl.col("band").is_not_null())
    for (name,), group in done.group_by("band", maintain_order=False):
        values = group[outcome].cast(pl.Float64).to_numpy()
        n = len(values)
        if outcome in BINARY:
            k = int(values.sum())
            low, high = proportion_confint(k, n, method="wilson")
            rows.append(BandRow(str(name), n, 100 * k / n, 100 * float(low), 100 * float(high)))
        else:
            low, high = _bootstrap_mean(values, rng) if n > 1 else (float("nan"), float("nan"))
            rows.append(BandRow(str(name), n, float(values.mean()), low, high))
    return sorted(rows, key=lambda r: r.band)


# -- the adjusted difference ------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    se: float


@dataclass(frozen=True)
class Effect:
    """Top group minus bottom group on the outcome (percentage points for yes/no outcomes)."""

    outcome: str
    n_top: int
    n_bottom: int
    naive: Estimate | None
    adjusted: Estimate | None
    controls: tuple[str, ...]
    placebo: Estimate | None  # top minus bottom on spend before the response: a gap there is confounding
    mde: float | None  # the smallest adjusted difference these rows could detect (80% power, 5% level)
    verdict: str
    excluded_incomplete: int
    notes: list[str] = field(default_factory=list)


def _design(frame: pl.DataFrame, controls: Sequence[str]) -> np.ndarray:
    """The treatment and controls as a float matrix; text columns become indicator columns."""
    parts = [frame.select(pl.col("_treat").cast(pl.Float64))]
    for name in controls:
        column = frame[name]
        if column.dtype in (pl.String, pl.Categorical, pl.Enum):
            dummies = column.fill_null("(none)").to_dummies(drop_first=True)
            parts.append(dummies.cast(pl.Float64))
        else:
            parts.append(frame.select(column.cast(pl.Float64).fill_null(0.0)))
    matrix = pl.concat(parts, how="horizontal").to_numpy()
    keep = matrix.std(axis=0) > 0
    keep[0] = True
    with_constant: np.ndarray = sm.add_constant(matrix[:, keep], has_constant="add")
    return with_constant


def _ols(y: np.ndarray, x: np.ndarray, scale: float) -> Estimate:
    fit = sm.OLS(y, x).fit(cov_type="HC1")
    low, high = fit.conf_int()[1]
    return Estimate(
        scale * float(fit.params[1]), scale * float(low), scale * float(high), scale * float(fit.bse[1])
    )


def verdict_of(estimate: Estimate | None, n_top: int, n_bottom: int, min_n: int = MIN_N) -> str:
    if estimate is None or min(n_top, n_bottom) < min_n or not np.isfinite(estimate.se):
        return TOO_LITTLE
    return SHOWN if estimate.low > 0 or estimate.high < 0 else NOT_SHOWN


def compare(
    linked: pl.DataFrame,
    outcome: Outcome,
    top: pl.Expr,
    bottom: pl.Expr,
    controls: Sequence[str] = PRIOR_CONTROLS,
    min_n: int = MIN_N,
) -> Effect:
    """Top minus bottom (e.g. score 4-5 minus 1-2) on ``outcome``, naive and adjusted for ``controls``."""
    incomplete = linked.filter(~pl.col("complete") & (top | bottom)).height
    frame = (
        linked.filter(pl.col("complete") & (top | bottom))
        .with_columns(top.alias("_treat"))
        .filter(pl.col("_treat").is_not_null())
    )
    n_top = int(frame["_treat"].sum() or 0)
    n_bottom = frame.height - n_top
    notes: list[str] = []
    if incomplete:
        notes.append(
            f"{incomplete:,} responses left out: their {OUTCOMES[outcome]} horizon is not complete yet"
        )
    if min(n_top, n_bottom) < 2:
        return Effect(
            outcome, n_top, n_bottom, None, None, tuple(controls), None, None, TOO_LITTLE, incomplete, notes
        )
    scale = 100.0 if outcome in BINARY else 1.0
    y = frame[outcome].cast(pl.Float64).to_numpy()
    naive = _ols(y, _design(frame, ()), scale)
    adjusted = _ols(y, _design(frame, controls), scale)
    placebo = None
    if "prior_spend" in frame.columns:
        others = [c for c in controls if c not in PRIOR_CONTROLS]
        placebo = _ols(frame["prior_spend"].cast(pl.Float64).to_numpy(), _design(frame, others), 1.0)
        if placebo.low > 0 or placebo.high < 0:
            notes.append(
                "before answering, the top group already spent differently "
                f"({placebo.value:+.2f} [{placebo.low:+.2f}, {placebo.high:+.2f}]): "
                "the naive gap is confounded"
            )
    verdict = verdict_of(adjusted, n_top, n_bottom, min_n)
    return Effect(
        outcome,
        n_top,
        n_bottom,
        naive,
        adjusted,
        tuple(controls),
        placebo,
        Z_POWER * adjusted.se,
        verdict,
        incomplete,
        notes,
    )


# -- dose-response of an operational field ----------------------------------------------------------


@dataclass(frozen=True)
class DoseBand:
    label: str
    n: int
    mean: float  # mean score
    low: float
    high: float
    share_low: float  # % of low scores (``low_scores``), Wilson interval below
    share_low_low: float
    share_low_high: float
    diff: Estimate | None  # mean score minus the first band's (Welch)


@dataclass(frozen=True)
class DoseResponse:
    field: str
    bands: list[DoseBand]
    contrast: Estimate | None  # every band after the first, together, minus the first (Welch)
    verdict: str


def band_labels(edges: Sequence[float]) -> list[str]:
    """``[0, 3, 7]`` -> ``<= 0``, ``0-3``, ``3-7``, ``> 7`` (upper bounds included)."""
    labels = [f"<= {edges[0]:g}"]
    labels += [f"{a:g}-{b:g}" for a, b in pairwise(edges)]
    return [*labels, f"> {edges[-1]:g}"]


def _welch(a: np.ndarray, b: np.ndarray) -> Estimate | None:
    if len(a) < 2 or len(b) < 2:
        return None
    compared = CompareMeans(DescrStatsW(a), DescrStatsW(b))
    low, high = compared.tconfint_diff(usevar="unequal")
    se = float(compared.std_meandiff_separatevar)
    return Estimate(float(a.mean() - b.mean()), float(low), float(high), se)


def dose_response(
    frame: pl.DataFrame,
    field_name: str,
    edges: Sequence[float],
    low_scores: Sequence[int],
    min_n: int = MIN_N,
) -> DoseResponse:
    """Mean score (column ``score``) by bands of a numeric field, each against the first band."""
    labels = band_labels(edges)
    data = frame.filter(pl.col(field_name).is_not_null() & pl.col("score").is_not_null())
    index = np.searchsorted(np.asarray(edges, dtype=float), data[field_name].cast(pl.Float64).to_numpy())
    values_all = data["score"].cast(pl.Float64).to_numpy()
    scores = {label: values_all[index == i] for i, label in enumerate(labels)}
    first = scores[labels[0]]
    bands: list[DoseBand] = []
    for label in labels:
        values = scores[label]
        if not len(values):
            continue
        k = int(np.isin(values, list(low_scores)).sum())
        share = proportion_confint(k, len(values), method="wilson")
        ci = DescrStatsW(values).tconfint_mean() if len(values) > 1 else (float("nan"), float("nan"))
        diff = _welch(values, first) if label != labels[0] else None
        bands.append(
            DoseBand(
                label,
                len(values),
                float(values.mean()),
                float(ci[0]),
                float(ci[1]),
                100 * k / len(values),
                100 * float(share[0]),
                100 * float(share[1]),
                diff,
            )
        )
    rest = np.concatenate([scores[label] for label in labels[1:]])
    contrast = _welch(rest, first)
    return DoseResponse(field_name, bands, contrast, verdict_of(contrast, len(rest), len(first), min_n))


# -- revenue at risk per root cause -----------------------------------------------------------------


@dataclass(frozen=True)
class CauseRisk:
    cause: str
    customers: int
    gap: Effect  # the cause's customers minus satisfied customers (adjusted)
    at_risk: float | None  # customers x gap x value per outcome (positive: money lost)
    low: float | None
    high: float | None
    rank: int | None  # by the interval's lower bound; None when the gap is not shown


def revenue_at_risk(
    linked: pl.DataFrame,
    causes: pl.DataFrame,
    outcome: Outcome,
    satisfied: pl.Expr,
    value_per_outcome: float,
    controls: Sequence[str] = PRIOR_CONTROLS,
    min_n: int = MIN_N,
) -> list[CauseRisk]:
    """Per cause (``causes``: ``response_id``, ``cause``): what its customers did less than satisfied ones,
    adjusted, times its customers, times the value of one outcome (1 for spend, which is money already)."""
    results: list[CauseRisk] = []
    scale = 100.0 if outcome in BINARY else 1.0
    for (cause,), members in causes.group_by("cause"):
        ids = members["response_id"].unique()
        raised = pl.col("response_id").is_in(ids.implode())
        effect = compare(linked, outcome, satisfied & ~raised, raised, controls, min_n)
        customers = linked.filter(raised)["person"].n_unique()
        if effect.adjusted is None:
            results.append(CauseRisk(str(cause), customers, effect, None, None, None, None))
            continue
        per = customers * value_per_outcome / scale
        a = effect.adjusted
        results.append(
            CauseRisk(str(cause), customers, effect, a.value * per, a.low * per, a.high * per, None)
        )
    shown = sorted(
        (r for r in results if r.gap.verdict == SHOWN and (r.low or 0) > 0), key=lambda r: -(r.low or 0)
    )
    ranks = {r.cause: i for i, r in enumerate(shown, start=1)}
    ranked = [
        CauseRisk(r.cause, r.customers, r.gap, r.at_risk, r.low, r.high, ranks.get(r.cause)) for r in results
    ]
    return sorted(ranked, key=lambda r: (r.rank is None, r.rank or 0, r.cause))


def summarize_bands(rows: Sequence[BandRow]) -> Mapping[str, BandRow]:
    return {row.band: row for row in rows}
