"""The analysis on synthetic customers with a planted effect and a planted confounder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from feedback.analysis import outcomes as an
from feedback.demo.outcome_data import AS_OF, Planted, synthetic

TOP, BOTTOM = pl.col("score") >= 4, pl.col("score") <= 2


def _effect(seed: int, planted: Planted, persons: int = 1500) -> an.Effect:
    responses, events = synthetic(seed, persons, planted)
    linked = an.link_outcomes(responses, events, planted.horizon_days, AS_OF)
    return an.compare(linked, "repeat_purchase", TOP, BOTTOM, ("prior_orders", "prior_spend", "tenure_days"))


def test_adjusted_interval_covers_the_planted_effect_and_the_naive_one_is_biased() -> None:
    planted = Planted(effect=0.08)
    effects = [_effect(seed, planted) for seed in range(100)]
    covered = sum(e.adjusted is not None and e.adjusted.low <= 8.0 <= e.adjusted.high for e in effects)
    assert covered >= 90, covered
    naive = np.array([e.naive.value for e in effects if e.naive is not None])
    adjusted = np.array([e.adjusted.value for e in effects if e.adjusted is not None])
    assert abs(adjusted.mean() - 8.0) < 1.0  # percentage points
    assert naive.mean() - 8.0 > 5.0  # the confounder: the naive gap is far above the planted one
    assert sum(e.naive is not None and not (e.naive.low <= 8.0 <= e.naive.high) for e in effects) >= 50
    assert all(e.excluded_incomplete > 0 and "not complete" in e.notes[0] for e in effects)
    assert sum(e.placebo is not None and e.placebo.low > 0 for e in effects) >= 90  # spent more before


def test_without_an_effect_the_verdict_is_not_shown() -> None:
    verdicts = [_effect(seed, Planted(effect=0.0)).verdict for seed in range(100)]
    assert verdicts.count(an.NOT_SHOWN) >= 90, verdicts.count(an.NOT_SHOWN)


def test_too_little_data_and_incomplete_horizons() -> None:
    responses, events = synthetic(1, 40, Planted())
    linked = an.link_outcomes(responses, events, 90, AS_OF)
    assert an.compare(linked, "repeat_purchase", TOP, BOTTOM).verdict == an.TOO_LITTLE
    late = an.link_outcomes(responses, events, 90, datetime(2020, 1, 1, tzinfo=UTC))
    assert not late["complete"].any()


def test_only_behaviour_after_the_response_within_the_horizon_counts() -> None:
    t = datetime(2026, 6, 1, tzinfo=UTC)
    responses = pl.DataFrame({"response_id": [1], "person": ["a"], "at": [t], "score": [5]})
    days = [-10, 0, 1, 29, 31]
    events = pl.DataFrame(
        {
            "person": ["a"] * 5,
            "at": [t + timedelta(days=d) for d in days],
            "kind": ["order", "order", "order", "cancellation", "order"],
            "amount": [5.0, 7.0, 11.0, None, 13.0],
        }
    )
    row = an.link_outcomes(responses, events, 30, AS_OF).row(0, named=True)
    assert row["orders"] == 1 and row["spend"] == 11.0 and row["churn"] and row["repeat_purchase"]
    assert row["prior_orders"] == 2 and row["prior_spend"] == 12.0 and row["tenure_days"] == 10.0


def test_revenue_at_risk_ranks_causes_whose_gap_is_shown_and_marks_the_others() -> None:
    responses, events = synthetic(3, 6000, Planted(effect=0.15))
    linked = an.link_outcomes(responses, events, 90, AS_OF)
    rng = np.random.default_rng(0)
    unhappy = linked.filter(BOTTOM)["response_id"].to_numpy()
    happy = linked.filter(TOP)["response_id"].to_numpy()
    anyone = rng.choice(happy, 400, replace=False)  # no gap: they behave as the other satisfied customers
    causes = pl.DataFrame(
        {
            "response_id": np.concatenate([unhappy, anyone]),
            "cause": ["late delivery"] * len(unhappy) + ["packaging"] * len(anyone),
        }
    )
    risks = {r.cause: r for r in an.revenue_at_risk(linked, causes, "repeat_purchase", TOP, 40.0)}
    late, packaging = risks["late delivery"], risks["packaging"]
    assert late.rank == 1 and late.gap.verdict == an.SHOWN
    assert late.gap.adjusted is not None and late.low is not None and late.high is not None
    expected = late.customers * late.gap.adjusted.value / 100 * 40.0
    assert late.at_risk == pytest.approx(expected) and 0 < late.low < late.at_risk < late.high
    assert packaging.rank is None and packaging.gap.verdict == an.NOT_SHOWN


def test_linking_agrees_with_a_plain_join_of_every_response_with_every_event_of_its_person() -> None:
    responses, events = synthetic(5, 3000, Planted(), extra_orders=1)
    events = events.with_columns(
        pl.when(pl.col("amount") > 45).then(pl.lit("renewal")).otherwise(pl.col("kind")).alias("kind")
    )
    linked = an.link_outcomes(responses, events, 60, AS_OF)
    pairs = responses.join(events, on="person", suffix="_e")
    after = pairs.filter(
        (pl.col("at_e").dt.epoch("s") > pl.col("at").dt.epoch("s"))
        & (pl.col("at_e").dt.epoch("s") <= (pl.col("at") + timedelta(days=60)).dt.epoch("s"))
    )
    before = pairs.filter(pl.col("at_e").dt.epoch("s") <= pl.col("at").dt.epoch("s"))
    expected = (
        responses.select("response_id")
        .join(
            after.group_by("response_id").agg(
                (pl.col("kind") == "order").sum().alias("orders_x"),
                pl.col("amount").filter(pl.col("kind") == "order").sum().alias("spend_x"),
                (pl.col("kind") == "renewal").any().alias("renewal_x"),
            ),
            on="response_id",
            how="left",
        )
        .join(
            before.group_by("response_id").agg((pl.col("kind") == "order").sum().alias("prior_x")),
            on="response_id",
            how="left",
        )
        .fill_null(0)
    )
    both = linked.join(expected, on="response_id")
    assert both.height == responses.height
    assert (both["orders"] == both["orders_x"]).all() and (both["prior_orders"] == both["prior_x"]).all()
    assert np.allclose(both["spend"].to_numpy(), both["spend_x"].cast(pl.Float64).to_numpy())
    assert (both["renewal"] == both["renewal_x"].cast(pl.Boolean)).all()


def test_the_regression_gives_statsmodels_hc1_figures_even_with_a_collinear_column() -> None:
    import numpy as np
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    n = 5_000
    treated = rng.random(n) < 0.3
    prior = rng.poisson(2, n).astype(float)
    x = sm.add_constant(np.column_stack([treated, rng.random(n) < 0.1, prior, 2 * prior]).astype(float))
    y = 0.2 * treated + 0.05 * prior + rng.standard_normal(n) * (1 + treated)  # unequal variance: HC1 matters
    ours = an._ols_many(y, x, 2, 100.0)
    fit = sm.OLS(y, x).fit(cov_type="HC1")
    for i, estimate in enumerate(ours, start=1):
        low, high = fit.conf_int()[i]
        expected = (100 * fit.params[i], 100 * low, 100 * high, 100 * fit.bse[i])
        assert (estimate.value, estimate.low, estimate.high, estimate.se) == pytest.approx(expected, rel=1e-9)
