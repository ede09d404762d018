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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

import numpy as np
import polars as pl
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from feedback.analysis.scales import DEFAULT_CUTOFFS, SCALES, Cutoffs

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
Z_95 = 1.959963984540054  # 95% two-sided
Z_POWER = Z_95 + 0.8416212335729143  # 95% two-sided, 80% power
MIN_N = 30  # per compared group, below which the verdict is "too little data"
BOOTSTRAP_MAX_N = 50_000  # above this a band's spend interval is the normal one (the bootstrap agrees there)
SHOWN, NOT_SHOWN, TOO_LITTLE = "shown", "not shown (interval includes 0)", "too little data"


def band(scale: str, score: int | None, cutoffs: Cutoffs = DEFAULT_CUTOFFS) -> str | None:
    """The score band by the survey vocabulary (analysis/scales.py; by default NPS promoters 9-10,
    passives 7-8, detractors 0-6; CSAT satisfied 4-5, neutral 3, dissatisfied 1-2; CES easy 5-7, neutral 4,
    hard 1-3)."""
    return None if score is None else cutoffs.band_name(scale, score)


def band_expr(scale: str, score: pl.Expr, cutoffs: Cutoffs = DEFAULT_CUTOFFS) -> pl.Expr:
    """``band`` for a column (by each row's survey's bands, from ``survey_id``, when a survey has its own)."""
    low, middle, high = (pl.lit(name) for name in SCALES[scale].band_names)
    return (
        pl.when(cutoffs.low(scale, score))
        .then(low)
        .when(cutoffs.high(scale, score))
        .then(high)
        .when(score.is_not_null())
        .then(middle)
    )


# -- linking responses to what came after -----------------------------------------------------------


_SPAN = 1 << 34  # seconds: one person's key range (544 years), so person x 2^34 + seconds never collide


def _person_codes(responses: pl.DataFrame, events: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each person as a small integer, the same in both frames (one encoding of both columns at once)."""
    both = pl.concat([responses["person"], events["person"]]).cast(pl.Categorical).to_physical()
    codes = both.to_numpy().astype(np.int64)
    return codes[: responses.height], codes[responses.height :]


def _search(keys: np.ndarray, queries: np.ndarray, side: Literal["left", "right"]) -> np.ndarray:
    """np.searchsorted, with the queries sorted first (several times faster on large arrays)."""
    order = np.argsort(queries, kind="stable")
    found = np.empty(len(queries), dtype=np.int64)
    found[order] = np.searchsorted(keys, queries[order], side=side)
    return found


def _seconds(at: pl.Series, origin: datetime) -> np.ndarray:
    return ((at - origin).dt.total_seconds()).to_numpy().astype(np.int64)


def link_outcomes(
    responses: pl.DataFrame, events: pl.DataFrame, horizon_days: int, as_of: datetime
) -> pl.DataFrame:
    """``responses`` with what each person did before and, within ``horizon_days``, after (see module).

    Added: ``complete``, ``orders``, ``repeat_purchase``, ``spend``, ``renewal``, ``churn`` (after), and
    ``prior_orders``, ``prior_spend``, ``tenure_days`` (before). Times count in whole seconds: events in
    the response's second count as before it.

    How: events sorted by (person, time) as one integer key; running totals over that order; for each
    response a binary search finds the totals at its time and at the horizon's end, so after = end - at
    and before = at - the person's first event, with no per-person loop and no join on text.
    """
    origin = min([t for t in (responses["at"].min(), events["at"].min()) if t is not None], default=as_of)
    assert isinstance(origin, datetime)
    response_pid, event_pid = _person_codes(responses, events)
    keys = event_pid * _SPAN + _seconds(events["at"], origin)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    kinds = events["kind"]

    def running(values: pl.Series) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(values.to_numpy()[order])])

    is_order = kinds == "order"
    totals = {
        "orders": running(is_order.cast(pl.Int64)),
        "spend": running(events["amount"].cast(pl.Float64).fill_null(0.0) * is_order),
        "renewals": running((kinds == "renewal").cast(pl.Int64)),
        "cancellations": running((kinds == "cancellation").cast(pl.Int64)),
    }
    at = _seconds(responses["at"], origin)
    base = response_pid * _SPAN
    first = _search(keys, base, "left")
    now = _search(keys, base + at, "right")
    end = _search(keys, base + at + horizon_days * 86400, "right")
    event_seconds = keys - (keys // _SPAN) * _SPAN
    has_prior = now > first
    first_seconds = (
        event_seconds[np.minimum(first, max(len(keys) - 1, 0))] if len(keys) else np.zeros(len(at))
    )
    orders = totals["orders"][end] - totals["orders"][now]
    return responses.with_columns(
        pl.Series("complete", (responses["at"] + timedelta(days=horizon_days) <= as_of).to_numpy()),
        pl.Series("orders", orders),
        pl.Series("repeat_purchase", orders > 0),
        pl.Series("spend", totals["spend"][end] - totals["spend"][now]),
        pl.Series("renewal", totals["renewals"][end] > totals["renewals"][now]),
        pl.Series("churn", totals["cancellations"][end] > totals["cancellations"][now]),
        pl.Series("prior_orders", totals["orders"][now] - totals["orders"][first]),
        pl.Series("prior_spend", totals["spend"][now] - totals["spend"][first]),
        pl.Series("tenure_days", np.where(has_prior, (at - first_seconds) / 86400, 0.0)),
    )


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


def _design(
    frame: pl.DataFrame, controls: Sequence[str], treatments: Sequence[str] = ("_treat",)
) -> np.ndarray:
    """A constant, the treatments and the controls as a float matrix; text columns become indicators."""
    parts = [frame.select(pl.col(t).cast(pl.Float64) for t in treatments)]
    for name in controls:
        column = frame[name]
        if column.dtype in (pl.String, pl.Categorical, pl.Enum):
            dummies = column.fill_null("(none)").to_dummies(drop_first=True)
            parts.append(dummies.cast(pl.Float64))
        else:
            parts.append(frame.select(column.cast(pl.Float64).fill_null(0.0)))
    matrix = pl.concat(parts, how="horizontal").to_numpy()
    keep = matrix.std(axis=0) > 0
    keep[: len(treatments)] = True
    with_constant: np.ndarray = sm.add_constant(matrix[:, keep], has_constant="add")
    return with_constant


def _ols_many(y: np.ndarray, x: np.ndarray, count: int, scale: float) -> list[Estimate]:
    """The first ``count`` coefficients after the constant, with HC1 (robust) 95% intervals.

    The same figures as statsmodels' ``OLS(y, x).fit(cov_type="HC1")`` (normal intervals; tests/outcomes
    compare them), from the normal equations: statsmodels takes the SVD of the whole n x k matrix, 13 times
    the CPU on a million rows (docs/benchmarks.md). A k x k pseudo-inverse keeps collinear columns
    harmless."""
    gram_inv = np.linalg.pinv(x.T @ x)
    beta = gram_inv @ (x.T @ y)
    residuals = y - x @ beta
    meat = (x * (residuals * residuals)[:, None]).T @ x
    n, rank = x.shape[0], int(np.linalg.matrix_rank(gram_inv))
    variance = np.diag(gram_inv @ meat @ gram_inv) * n / (n - rank)
    se = np.sqrt(np.maximum(variance, 0.0))  # rounding can leave a collinear column's variance at -1e-20
    return [
        Estimate(
            scale * float(beta[i]),
            scale * float(beta[i] - Z_95 * se[i]),
            scale * float(beta[i] + Z_95 * se[i]),
            scale * float(se[i]),
        )
        for i in range(1, count + 1)
    ]


def _ols(y: np.ndarray, x: np.ndarray, scale: float) -> Estimate:
    return _ols_many(y, x, 1, scale)[0]


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
    checks: bool = True,
) -> Effect:
    """Top minus bottom (e.g. score 4-5 minus 1-2) on ``outcome``, adjusted for ``controls``; with
    ``checks`` also the naive difference and the placebo (spend before the response)."""
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
    naive = _ols(y, _design(frame, ()), scale) if checks else None
    adjusted = _ols(y, _design(frame, controls), scale)
    placebo = None
    if checks and "prior_spend" in frame.columns:
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
    adjusted, times its customers, times the value of one outcome (1 for spend, which is money already).

    One regression: the outcome on an indicator per cause and the controls, among satisfied customers
    (who raised no cause) and every customer who raised one; each cause's gap is minus its coefficient.
    Ranked by the interval's lower bound; a cause whose gap is not shown gets no rank."""
    scale = 100.0 if outcome in BINARY else 1.0
    names = sorted(causes["cause"].unique().cast(pl.String).to_list())
    flags = (
        causes.select("response_id", pl.col("cause").cast(pl.String), pl.lit(1.0).alias("_one"))
        .unique(["response_id", "cause"])
        .pivot("cause", index="response_id", values="_one")
    )
    columns = [f"_cause_{i}" for i in range(len(names))]
    flags = flags.rename(dict(zip(names, columns, strict=True)))
    frame = (
        linked.filter(pl.col("complete"))
        .join(flags, on="response_id", how="left")
        .with_columns(pl.col(c).fill_null(0.0) for c in columns)
        .with_columns(pl.any_horizontal(pl.col(c) > 0 for c in columns).alias("_any"))
        .filter(satisfied | pl.col("_any"))
    )
    n_satisfied = frame.filter(~pl.col("_any")).height
    gaps: list[Estimate | None] = [None] * len(names)
    if frame.height > len(columns) + 2 and n_satisfied >= 2:
        y = frame[outcome].cast(pl.Float64).to_numpy()
        fitted = _ols_many(y, _design(frame, controls, columns), len(columns), scale)
        gaps = [Estimate(-e.value, -e.high, -e.low, e.se) for e in fitted]  # satisfied minus the cause's
    persons = dict(
        causes.select("response_id", pl.col("cause").cast(pl.String))
        .join(linked.select("response_id", "person"), on="response_id")
        .group_by("cause")
        .agg(pl.col("person").n_unique())
        .iter_rows()
    )
    results: list[CauseRisk] = []
    for name, column, gap in zip(names, columns, gaps, strict=True):
        n_cause = int(frame[column].sum())
        customers = persons.get(name, 0)
        verdict = verdict_of(gap, n_satisfied, n_cause, min_n)
        effect = Effect(
            outcome,
            n_satisfied,
            n_cause,
            None,
            gap,
            tuple(controls),
            None,
            Z_POWER * gap.se if gap else None,
            verdict,
            0,
        )
        if gap is None or verdict == TOO_LITTLE:
            results.append(CauseRisk(name, customers, effect, None, None, None, None))
            continue
        per = customers * value_per_outcome / scale
        results.append(
            CauseRisk(name, customers, effect, gap.value * per, gap.low * per, gap.high * per, None)
        )
    shown = sorted(
        (r for r in results if r.gap.verdict == SHOWN and (r.low or 0) > 0), key=lambda r: -(r.low or 0)
    )
    ranks = {r.cause: i for i, r in enumerate(shown, start=1)}
    ranked = [
        CauseRisk(r.cause, r.customers, r.gap, r.at_risk, r.low, r.high, ranks.get(r.cause)) for r in results
    ]
    return sorted(ranked, key=lambda r: (r.rank is None, r.rank or 0, r.cause))
