"""Does satisfaction pay? The whole answer for one scale and outcome, from the database, as plain data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine

from feedback.analysis import outcomes as an
from feedback.errors import InvalidInput
from feedback.outcomes.query import read_cause_items, read_events, read_responses
from feedback.responses.dissatisfied import survey_cutoffs

DEFAULT_GROUPS = {
    "nps": ((9, 10), (0, 1, 2, 3, 4, 5, 6)),
    "csat": ((4, 5), (1, 2)),
    "ces": ((5, 6, 7), (1, 2, 3)),
}


@dataclass(frozen=True)
class Coverage:
    responses: int  # scored responses that name a customer, submitted up to the report's as_of
    linked: int  # of them, the customer has at least one outcome event (any time)
    complete: int  # of them, the horizon is complete by ``as_of``


@dataclass(frozen=True)
class PaysReport:
    scale: str
    outcome: str
    horizon_days: int
    as_of: datetime | None
    top: tuple[int, ...]
    bottom: tuple[int, ...]
    bands: list[an.BandRow]
    effect: an.Effect | None
    coverage: Coverage

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_NO_RESPONSES = pl.DataFrame(
    schema={"response_id": pl.String, "person": pl.String, "at": pl.Datetime("us", "UTC"), "score": pl.Int64}
)


def _check_scale(scale: str) -> None:
    if scale not in DEFAULT_GROUPS:
        raise InvalidInput.on("scale", f"one of {', '.join(DEFAULT_GROUPS)}")


def parse_scores(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise InvalidInput.on(name, "expected scores separated by commas, e.g. 4,5") from None


def satisfaction_pays(
    engine: Engine,
    *,
    scale: str = "csat",
    outcome: an.Outcome = "repeat_purchase",
    horizon_days: int = 90,
    as_of: datetime | None = None,
    top: Sequence[int] | None = None,
    bottom: Sequence[int] | None = None,
    controls: Sequence[str] = (),
) -> PaysReport:
    """Outcome by band and the adjusted top-minus-bottom difference among the responses submitted up to
    ``as_of`` (default: the last event's time; no events: no responses either).

    The difference is always adjusted for prior orders, prior spend and tenure, and for ``controls``
    (company context fields) too."""
    _check_scale(scale)
    if outcome not in an.OUTCOMES:
        raise InvalidInput.on("outcome", f"one of {', '.join(an.OUTCOMES)}")
    if horizon_days < 1:
        raise InvalidInput.on("horizon_days", "at least 1")
    top = tuple(top or DEFAULT_GROUPS[scale][0])
    bottom = tuple(bottom or DEFAULT_GROUPS[scale][1])
    events = read_events(engine)
    if as_of is None and events.height:
        as_of = events["at"].max()  # type: ignore[assignment]
    # Responses after as_of have no outcome to link yet: left out, so that the figures (and coverage) change
    # only when the outcome data does, not with each new answer.
    responses = read_responses(engine, scale, as_of) if as_of is not None else _NO_RESPONSES
    with engine.connect() as connection:
        cutoffs = survey_cutoffs(connection)  # the company's, and each survey's own bands
    unknown = [
        c
        for c in controls
        if c not in responses.columns or c in ("response_id", "person", "at", "score", "survey_id")
    ]
    if unknown and responses.height:  # no responses (or no events): nothing to adjust, whatever the fields
        raise InvalidInput.on("controls", f"unknown field(s) {', '.join(unknown)}")
    controls = (*an.PRIOR_CONTROLS, *controls)
    if as_of is None or responses.is_empty():
        return PaysReport(
            scale, outcome, horizon_days, as_of, top, bottom, [], None, Coverage(responses.height, 0, 0)
        )
    linked = an.link_outcomes(responses, events, horizon_days, as_of).with_columns(
        an.band_expr(scale, pl.col("score"), cutoffs).alias("band")
    )
    persons = events["person"].unique().implode()
    coverage = Coverage(
        responses.height,
        linked.filter(pl.col("person").is_in(persons)).height,
        int(linked["complete"].sum()),
    )
    effect = an.compare(linked, outcome, pl.col("score").is_in(top), pl.col("score").is_in(bottom), controls)
    return PaysReport(
        scale, outcome, horizon_days, as_of, top, bottom, an.by_band(linked, outcome), effect, coverage
    )


def field_drivers(engine: Engine, *, scale: str, field_name: str, edges: Sequence[float]) -> an.DoseResponse:
    """The score by bands of a numeric company field (e.g. days late), each band against the first."""
    _check_scale(scale)
    if not edges or list(edges) != sorted(set(edges)):
        raise InvalidInput.on("bands", "give increasing band edges, e.g. 0,3,7,14")
    responses = read_responses(engine, scale)
    if field_name not in responses.columns or field_name in ("response_id", "person", "at", "score"):
        raise InvalidInput.on("field", f"no numeric context field {field_name!r} in the responses")
    if not responses[field_name].dtype.is_numeric():
        raise InvalidInput.on("field", f"{field_name!r} is not numeric")
    return an.dose_response(responses, field_name, edges, low_scores=DEFAULT_GROUPS[scale][1])


def parse_edges(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput.on("bands", "expected numbers separated by commas, e.g. 0,3,7,14") from None


def revenue_by_cause(
    engine: Engine,
    *,
    scale: str = "csat",
    outcome: an.Outcome = "repeat_purchase",
    horizon_days: int = 90,
    value_per_outcome: float = 1.0,
    label: str = "name",
) -> list[an.CauseRisk]:
    """Revenue at risk per root cause of the latest analysis run (see analysis.outcomes.revenue_at_risk),
    each cause named by its ``label`` (name, or key)."""
    _check_scale(scale)
    events = read_events(engine)
    causes = read_cause_items(engine, label)
    if events.is_empty() or causes.is_empty():
        return []
    as_of = events["at"].max()
    assert isinstance(as_of, datetime)
    responses = read_responses(engine, scale, as_of)  # a later one has no complete horizon
    if responses.is_empty():
        return []
    linked = an.link_outcomes(responses, events, horizon_days, as_of)
    with engine.connect() as connection:
        satisfied = survey_cutoffs(connection).high(scale, pl.col("score"))  # by each survey's bands
    return an.revenue_at_risk(linked, causes, outcome, satisfied, value_per_outcome)


# What the dashboards and digests show beside each cause: what its customers spent less, within the horizon,
# than satisfied customers (CSAT 4-5), adjusted, times its customers; spend is money, so no value is needed.
RISK_SCALE, RISK_HORIZON_DAYS = "csat", 90
RISK_OUTCOME: an.Outcome = "spend"
RISK_NOTE = (
    f"Revenue at risk: what the customers who raised a cause spent less within {RISK_HORIZON_DAYS} days of "
    "answering than satisfied customers (CSAT 4-5), adjusted for what they bought before, times those "
    "customers, with its 95% interval; ranked by the interval's low end; a gap not shown is not ranked."
)


def risk_by_cause_key(engine: Engine) -> dict[str, an.CauseRisk]:
    """Revenue at risk per cause key (empty without outcome events or analysed causes): compute it once
    for a page or a digest run, not per cause."""
    with engine.connect() as connection:
        if connection.exec_driver_sql("SELECT 1 FROM outcome_events LIMIT 1").first() is None:
            return {}  # no outcomes: nothing to read
    risks = revenue_by_cause(
        engine, scale=RISK_SCALE, outcome=RISK_OUTCOME, horizon_days=RISK_HORIZON_DAYS, label="key"
    )
    return {risk.cause: risk for risk in risks}


def risk_words(risks: Mapping[str, an.CauseRisk], key: str) -> str | None:
    """Cause ``key``'s ``12,300 [4,100, 20,500], #1``, or why it is not shown (not ranked); None when there
    are no outcomes at all (``risks`` empty)."""
    if not risks:
        return None
    risk = risks.get(key)
    if risk is None:
        return "not shown (none of its customers has outcomes), not ranked"
    verdict = risk.gap.verdict
    why = verdict if verdict.startswith("not shown") else f"not shown ({verdict})"
    if risk.at_risk is None or risk.low is None or risk.high is None:
        return f"{why}, not ranked"
    figure = f"{risk.at_risk:,.0f} [{risk.low:,.0f}, {risk.high:,.0f}]"
    if risk.rank is None:
        return f"{figure}: {why if verdict != an.SHOWN else 'no loss shown'}, not ranked"
    return f"{figure}, #{risk.rank}"
