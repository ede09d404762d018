"""Synthetic customers whose satisfaction pays by a planted amount, with a planted confounder.

Each person answers once (CSAT 1-5). Before answering they ordered 0-4 times (``prior``); the more they
ordered, the likelier they are satisfied (the confounder: satisfied customers also spent more before).
Within the horizon after answering they order again with probability
``base + effect x satisfied + per_prior_order x prior``: a naive comparison of satisfied and
dissatisfied customers overstates ``effect``; one that controls prior orders recovers it.
Used by the demo, the tests and bench/bench_outcomes.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Planted:
    effect: float = 0.08  # added probability of ordering again when satisfied (4-5 against 1-2)
    base: float = 0.10
    per_prior_order: float = 0.08
    horizon_days: int = 90
    incomplete_share: float = 0.1  # answered too recently for a complete horizon
    order_value: float = 40.0


def _days(days: np.ndarray) -> np.ndarray:
    return (days * 86_400_000).astype("timedelta64[ms]")


def synthetic(
    seed: int, persons: int, planted: Planted = Planted(), as_of: datetime = AS_OF, extra_orders: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(responses, events) frames as analysis.outcomes reads them; ``extra_orders`` per person are added
    long before the response (bulk for benchmarks; they move prior spend and tenure only)."""
    rng = np.random.default_rng(seed)
    n, h = persons, planted.horizon_days
    recent = rng.random(n) < planted.incomplete_share
    days_ago = np.where(recent, rng.uniform(1, h - 1, n), rng.uniform(h + 1, h + 400, n))
    answered = np.datetime64(as_of.replace(tzinfo=None), "ms") - _days(days_ago)
    prior = rng.binomial(4, 0.5, n)
    satisfied = rng.random(n) < 1 / (1 + np.exp(1.5 - 0.75 * prior))
    score = np.where(satisfied, rng.integers(4, 6, n), rng.integers(1, 4, n))
    chance = planted.base + planted.effect * satisfied + planted.per_prior_order * prior
    again = rng.random(n) < chance
    person = np.array([f"p{i}" for i in range(n)])

    prior_person = np.repeat(np.arange(n), prior)
    prior_at = answered[prior_person] - _days(rng.uniform(1, 300, len(prior_person)))
    after_person = np.flatnonzero(again)
    after_at = answered[after_person] + _days(rng.uniform(0.01, h - 0.01, len(after_person)))
    bulk_person = np.repeat(np.arange(n), extra_orders)
    bulk_at = answered[bulk_person] - _days(rng.uniform(400, 2000, len(bulk_person)))
    who = np.concatenate([prior_person, after_person, bulk_person])
    events = pl.DataFrame(
        {
            "person": person[who],
            "at": np.concatenate([prior_at, after_at, bulk_at]),
            "kind": np.full(len(who), "order"),
            "amount": rng.gamma(4.0, planted.order_value / 4.0, len(who)),
        }
    ).with_columns(pl.col("at").dt.cast_time_unit("us").dt.replace_time_zone("UTC"))
    responses = pl.DataFrame(
        {"response_id": np.arange(n), "person": person, "at": answered, "score": score}
    ).with_columns(pl.col("at").dt.cast_time_unit("us").dt.replace_time_zone("UTC"))
    return responses, events
