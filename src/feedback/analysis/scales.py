"""The survey vocabulary: each scale's range and bands, and the one definition of "dissatisfied".

Every place that counts promoters, satisfied customers or unhappy ones (metrics, drivers, the cause ledger,
cause analysis, dashboards, alerts, digests, the sentiment model) builds its Polars or SQL expression here,
from one :class:`Cutoffs` (per company: FEEDBACK_NPS_BANDS, FEEDBACK_CSAT_BANDS, FEEDBACK_CES_BANDS,
FEEDBACK_NEGATIVE_POLARITY; see config.py and README "Metrics"; optionally per survey: a survey's own
``[bands]`` replace the company's for that survey's answers). Defaults are the industry definitions:

- NPS 0-10: detractors 0-6, passives 7-8, promoters 9-10;
- CSAT 1-5: dissatisfied 1-2, neutral 3, satisfied 4-5 (CSAT % = share of satisfied);
- CES 1-7: hard 1-3, neutral 4, easy 5-7 (CES easy % = share of easy).

**Dissatisfied** (one rule, everywhere): a response (or a comment, a mention) with any score is dissatisfied
when one of its scores is in its scale's low band (a detractor, a dissatisfied CSAT, a hard CES); only
feedback without any score is judged by its text: TextBlob polarity below the negative cut-off (default
-0.05: scores between -0.05 and 0.05 are neutral). A score beats the words: a promoter with an angry comment
is not dissatisfied (the sentiment disagreements list shows those).

The functions take plain operands (a Polars expression or a SQLAlchemy column): ``<=`` and ``>=`` build the
right expression for either. When some survey has its own bands, each row's band ends are looked up by its
survey: Polars expressions read the frame's ``survey_id`` column (unless given another), SQL ones need the
survey column passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import polars as pl
from sqlalchemy import and_, case, or_

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

    @classmethod
    def of_pair(cls, scale: str, pair: Any) -> Bands:
        """``[2, 4]`` (as a survey stores them): low band up to 2, high band from 4; checked."""
        low_max, high_min = pair
        bands = cls(int(low_max), int(high_min))
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
    # Surveys with their own bands: survey id -> scale -> bands (the other scales: the company's above).
    surveys: Mapping[int, Mapping[str, Bands]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for scale in SCALE_NAMES:
            self.of(scale).check(scale)
            for own in self.surveys.values():
                if scale in own:
                    own[scale].check(scale)
        if not -1 <= self.negative_polarity <= 0:
            raise ValueError(f"negative polarity {self.negative_polarity}: expected -1..0")

    def of(self, scale: str, survey: int | None = None) -> Bands:
        """``scale``'s bands for ``survey``'s answers (its own, else the company's)."""
        own = self.surveys.get(survey) if survey is not None else None
        bands: Bands = own[scale] if own and scale in own else getattr(self, scale)
        return bands

    def with_surveys(self, surveys: Mapping[int, Mapping[str, Bands]]) -> Cutoffs:
        """These cut-offs with ``surveys``' own bands (surveys without any left out)."""
        return replace(self, surveys={sid: dict(own) for sid, own in surveys.items() if own})

    def for_survey(self, survey: int | None) -> Cutoffs:
        """The cut-offs that apply to ``survey``'s answers, with no per-survey lookup left."""
        if not self.surveys:
            return self
        nps, csat, ces = (self.of(scale, survey) for scale in SCALE_NAMES)
        return Cutoffs(nps, csat, ces, self.negative_polarity)

    def _end(self, scale: str, end: Literal["low_max", "high_min"], score: Any, survey: Any) -> Any:
        """The low band's last or the high band's first score: a number, or a per-survey lookup."""
        default: int = getattr(getattr(self, scale), end)
        own = {sid: getattr(b[scale], end) for sid, b in self.surveys.items() if scale in b}
        if not own:
            return default
        if survey is None and isinstance(score, pl.Expr):
            survey = pl.col("survey_id")
        if survey is None:
            raise ValueError(f"{scale} bands differ by survey: the SQL expression needs the survey column")
        if isinstance(survey, pl.Expr):
            return survey.replace_strict(own, default=default, return_dtype=pl.Int64)
        return case(own, value=survey, else_=default)

    @property
    def positive_polarity(self) -> float:
        """Polarity above this is positive text (the neutral band is symmetric around 0)."""
        return -self.negative_polarity

    # -- one score ----------------------------------------------------------------------------------------

    def band(self, scale: str, score: int, survey: int | None = None) -> Band:
        """Which band ``score`` (of ``survey``) falls in (ValueError outside the scale's range)."""
        s, b = SCALES[scale], self.of(scale, survey)
        if not s.low <= score <= s.high:
            raise ValueError(f"{scale} scores run from {s.low} to {s.high}; got {score}")
        return "low" if score <= b.low_max else "high" if score >= b.high_min else "middle"

    def band_name(self, scale: str, score: int, survey: int | None = None) -> str:
        """ "promoter", "neutral", "hard", ..."""
        return SCALES[scale].band_names[("low", "middle", "high").index(self.band(scale, score, survey))]

    def is_dissatisfied(
        self,
        nps: int | None = None,
        csat: int | None = None,
        ces: int | None = None,
        polarity: float | None = None,
        survey: int | None = None,
    ) -> bool:
        """The rule of the module docstring for one item (of ``survey``, for its own bands)."""
        scores = {"nps": nps, "csat": csat, "ces": ces}
        given = {k: v for k, v in scores.items() if v is not None}
        if given:
            return any(self.band(k, int(v), survey) == "low" for k, v in given.items())
        return polarity is not None and polarity < self.negative_polarity

    # -- expressions (Polars or SQL alike) -----------------------------------------------------------------

    def low(self, scale: str, score: Any, survey: Any = None) -> Any:
        """True where ``score`` (of ``survey``) is in the low band (detractor, dissatisfied, hard); null stays
        null."""
        return score <= self._end(scale, "low_max", score, survey)

    def high(self, scale: str, score: Any, survey: Any = None) -> Any:
        """True where ``score`` (of ``survey``) is in the high band (promoter, satisfied, easy); null stays
        null."""
        return score >= self._end(scale, "high_min", score, survey)

    def dissatisfied_expr(self) -> pl.Expr:
        """Polars: the rule over columns ``nps``, ``csat``, ``ces``, ``polarity`` (nulls allowed), and
        ``survey_id`` when some survey has its own bands."""
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

    def dissatisfied_sql(self, nps: Any, csat: Any, ces: Any, polarity: Any, survey: Any = None) -> Any:
        """SQL: the same rule over column expressions (``polarity`` may be a scalar subquery; ``survey``: the
        survey id column, needed when some survey has its own bands)."""
        has_score = or_(nps.is_not(None), csat.is_not(None), ces.is_not(None))
        low_score = or_(
            self.low("nps", nps, survey), self.low("csat", csat, survey), self.low("ces", ces, survey)
        )
        negative_text = and_(~has_score, polarity.is_not(None), polarity < self.negative_polarity)
        return or_(low_score, negative_text)


DEFAULT_CUTOFFS = Cutoffs()
