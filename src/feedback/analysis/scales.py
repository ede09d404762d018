"""The survey vocabulary: each scale's range and bands, and the one definition of "dissatisfied".

Every place that counts promoters, satisfied customers or unhappy ones (metrics, drivers, the cause ledger,
cause analysis, dashboards, alerts, digests, the sentiment model) builds its Polars or SQL expression here,
from one :class:`Cutoffs` (per company: FEEDBACK_NPS_BANDS, FEEDBACK_CSAT_BANDS, FEEDBACK_CES_BANDS,
FEEDBACK_NEGATIVE_POLARITY; see config.py and README "Metrics"). Defaults are the industry definitions:

- NPS 0-10: detractors 0-6, passives 7-8, promoters 9-10;
- CSAT 1-5: dissatisfied 1-2, neutral 3, satisfied 4-5 (CSAT % = share of satisfied);
- CES 1-7: hard 1-3, neutral 4, easy 5-7 (CES easy % = share of easy).

**Dissatisfied** (one rule, everywhere): a response (or a comment, a mention) with any score is dissatisfied
when one of its scores is in its scale's low band (a detractor, a dissatisfied CSAT, a hard CES); only
feedback without any score is judged by its text: TextBlob polarity below the negative cut-off (default
-0.05: scores between -0.05 and 0.05 are neutral). A score beats the words: a promoter with an angry comment
is not dissatisfied (the sentiment disagreements list shows those).

The functions take plain operands (a Polars expression or a SQLAlchemy column): ``<=`` and ``>=`` build the
right expression for either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from sqlalchemy import and_, or_

ScaleName = Literal["nps", "csat", "ces"]
Band = Literal["low", "middle", "high"]


@dataclass(frozen=True)
class Scale:
    """A score question's range and the names of its three bands (low, middle, high)."""

    name: ScaleName
    low: int
    high: int
    band_names: tuple[str, str, str]
    label: str


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("nps", 0, 10, ("detractor", "passive", "promoter"), "likelihood to recommend"),
        Scale("csat", 1, 5, ("dissatisfied", "neutral", "satisfied"), "satisfaction"),
        Scale("ces", 1, 7, ("hard", "neutral", "easy"), "ease"),
    )
}
SCALE_NAMES: tuple[ScaleName, ...] = ("nps", "csat", "ces")


@dataclass(frozen=True)
class Bands:
    """``low_max``: the highest score of the low band; ``high_min``: the lowest of the high band."""

    low_max: int
    high_min: int

    @classmethod
    def parse(cls, scale: str, text: str) -> Bands:
        """``"6,9"``: low band up to 6, high band from 9; checked against the scale's range."""
        low_max, _, high_min = text.partition(",")
        try:
            bands = cls(int(low_max), int(high_min))
        except ValueError:
            raise ValueError(f"{scale} bands {text!r}: expected LOW_MAX,HIGH_MIN, e.g. 6,9") from None
        bands.check(scale)
        return bands

    def check(self, scale: str) -> None:
        s = SCALES[scale]
        if not s.low <= self.low_max < self.high_min <= s.high:
            raise ValueError(
                f"{scale} bands {self.low_max},{self.high_min}: expected {s.low} <= low band end < "
                f"high band start <= {s.high}"
            )


DEFAULT_BANDS: dict[str, Bands] = {"nps": Bands(6, 9), "csat": Bands(2, 4), "ces": Bands(3, 5)}
DEFAULT_NEGATIVE_POLARITY = -0.05


@dataclass(frozen=True)
class Cutoffs:
    """Where each scale's bands start, and below which polarity a text without a score is negative."""

    nps: Bands = DEFAULT_BANDS["nps"]
    csat: Bands = DEFAULT_BANDS["csat"]
    ces: Bands = DEFAULT_BANDS["ces"]
    negative_polarity: float = DEFAULT_NEGATIVE_POLARITY

    def __post_init__(self) -> None:
        for scale in SCALE_NAMES:
            self.of(scale).check(scale)
        if not -1 <= self.negative_polarity <= 0:
            raise ValueError(f"negative polarity {self.negative_polarity}: expected -1..0")

    def of(self, scale: str) -> Bands:
        bands: Bands = getattr(self, scale)
        return bands

    @property
    def positive_polarity(self) -> float:
        """Polarity above this is positive text (the neutral band is symmetric around 0)."""
        return -self.negative_polarity

    # -- one score ----------------------------------------------------------------------------------------

    def band(self, scale: str, score: int) -> Band:
        """Which band ``score`` falls in (ValueError outside the scale's range)."""
        s, b = SCALES[scale], self.of(scale)
        if not s.low <= score <= s.high:
            raise ValueError(f"{scale} scores run from {s.low} to {s.high}; got {score}")
        return "low" if score <= b.low_max else "high" if score >= b.high_min else "middle"

    def band_name(self, scale: str, score: int) -> str:
        """ "promoter", "neutral", "hard", ..."""
        return SCALES[scale].band_names[("low", "middle", "high").index(self.band(scale, score))]

    def is_dissatisfied(
        self,
        nps: int | None = None,
        csat: int | None = None,
        ces: int | None = None,
        polarity: float | None = None,
    ) -> bool:
        """The rule of the module docstring for one item."""
        scores = {"nps": nps, "csat": csat, "ces": ces}
        given = {k: v for k, v in scores.items() if v is not None}
        if given:
            return any(self.band(k, int(v)) == "low" for k, v in given.items())
        return polarity is not None and polarity < self.negative_polarity

    # -- expressions (Polars or SQL alike) -----------------------------------------------------------------

    def low(self, scale: str, score: Any) -> Any:
        """True where ``score`` is in the low band (detractor, dissatisfied, hard); null stays null."""
        return score <= self.of(scale).low_max

    def high(self, scale: str, score: Any) -> Any:
        """True where ``score`` is in the high band (promoter, satisfied, easy); null stays null."""
        return score >= self.of(scale).high_min

    def dissatisfied_expr(self) -> pl.Expr:
        """Polars: the rule over columns ``nps``, ``csat``, ``ces``, ``polarity`` (nulls allowed)."""
        nps, csat, ces, polarity = (pl.col(c) for c in ("nps", "csat", "ces", "polarity"))
        has_score = nps.is_not_null() | csat.is_not_null() | ces.is_not_null()
        low_score = (
            self.low("nps", nps).fill_null(False)
            | self.low("csat", csat).fill_null(False)
            | self.low("ces", ces).fill_null(False)
        )
        negative_text = (polarity < self.negative_polarity).fill_null(False)
        return pl.when(has_score).then(low_score).otherwise(negative_text).alias("dissatisfied")

    def judged_expr(self) -> pl.Expr:
        """Polars: True where the rule can judge the row at all (a score or a polarity)."""
        return pl.any_horizontal(pl.col(c).is_not_null() for c in ("nps", "csat", "ces", "polarity"))

    def dissatisfied_sql(self, nps: Any, csat: Any, ces: Any, polarity: Any) -> Any:
        """SQL: the same rule over four column expressions (``polarity`` may be a scalar subquery)."""
        has_score = or_(nps.is_not(None), csat.is_not(None), ces.is_not(None))
        low_score = or_(self.low("nps", nps), self.low("csat", csat), self.low("ces", ces))
        negative_text = and_(~has_score, polarity.is_not(None), polarity < self.negative_polarity)
        return or_(low_score, negative_text)


DEFAULT_CUTOFFS = Cutoffs()
