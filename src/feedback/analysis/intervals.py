"""95% intervals for the figures we report, as Polars expressions and as plain functions.

- shares (CSAT %, CES easy %, FCR, response rate): Wilson score interval, in percent;
- NPS: the score is the mean of a +100/0/-100 coding of each answer; its interval is that mean plus or minus
  z standard errors, with one pseudo-answer added to each category for the standard error (an adjusted Wald
  interval), so five promoters out of five do not claim an interval of zero width; clipped to -100..100;
- means (CES, sentiment): Student's t interval.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for successes/n, as fractions (0..1). n=0 gives (0, 1)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


def wilson_exprs(k: pl.Expr, n: pl.Expr, scale: float = 100.0) -> tuple[pl.Expr, pl.Expr]:
    """Wilson interval of k/n as (low, high) expressions, times ``scale`` (percent by default)."""
    nf = n.cast(pl.Float64)
    p = k.cast(pl.Float64) / nf
    z2 = Z95 * Z95
    centre = p + z2 / (2 * nf)
    spread = Z95 * (p * (1 - p) / nf + z2 / (4 * nf * nf)).sqrt()
    denominator = 1 + z2 / nf
    low = pl.when(n > 0).then(((centre - spread) / denominator).clip(0.0, 1.0) * scale)
    high = pl.when(n > 0).then(((centre + spread) / denominator).clip(0.0, 1.0) * scale)
    return low, high


def nps_exprs(promoters: pl.Expr, detractors: pl.Expr, n: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """NPS (value, low, high) on -100..100 from counts (adjusted Wald interval, see the module doc)."""
    nf = n.cast(pl.Float64)
    value = pl.when(n > 0).then((promoters - detractors).cast(pl.Float64) / nf * 100)
    pro = (promoters.cast(pl.Float64) + 1) / (nf + 3)
    det = (detractors.cast(pl.Float64) + 1) / (nf + 3)
    variance = pro + det - (pro - det) ** 2
    se = (variance / (nf + 3)).sqrt() * 100
    low = pl.when(n > 0).then((value - Z95 * se).clip(-100.0, 100.0))
    high = pl.when(n > 0).then((value + Z95 * se).clip(-100.0, 100.0))
    return value, low, high


def nps_interval(promoters: int, detractors: int, n: int) -> tuple[float, float, float]:
    """NPS (value, low, high) for plain counts; the same arithmetic as ``nps_exprs``."""
    frame = pl.DataFrame({"p": [promoters], "d": [detractors], "n": [n]})
    value, low, high = nps_exprs(pl.col("p"), pl.col("d"), pl.col("n"))
    row = frame.select(value.alias("v"), low.alias("l"), high.alias("h")).row(0)
    return row[0], row[1], row[2]


def t_quantiles(n: pl.Series) -> pl.Series:
    """The 97.5% quantile of Student's t with n-1 degrees of freedom (null where n < 2)."""
    counts = n.cast(pl.Float64).fill_null(0).to_numpy()
    with np.errstate(invalid="ignore"):
        q = np.where(counts >= 2, stats.t.ppf(0.975, np.maximum(counts - 1, 1)), np.nan)
    return pl.Series(n.name, q, dtype=pl.Float64).fill_nan(None)


def mean_interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and its 95% t interval of plain numbers (low = high = mean when fewer than two)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def fisher_interval(r: float, n: int, se_factor: float = 1.0) -> tuple[float | None, float | None]:
    """95% interval of a correlation by Fisher's z (se_factor 1.06 for Spearman's rho, per Fieller et al.)."""
    if n < 4 or not math.isfinite(r):
        return None, None
    r = max(-0.999999, min(0.999999, r))
    z = math.atanh(r)
    se = math.sqrt(se_factor / (n - 3))
    return math.tanh(z - Z95 * se), math.tanh(z + Z95 * se)
