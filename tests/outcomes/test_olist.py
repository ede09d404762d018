"""The product on real marketplace rows (Olist; ../shared/data/olist beside the repository, read-only).

Orders and the identity map go in through the product's own import; the reviews are the responses (score
1-5) with delivery lateness as a field. The figures are checked against an independent computation here
(NumPy and SciPy on the raw files), and against the data's README (score falls with lateness; "buys more"
for 5 against 1-2 not shown without controls).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from feedback.analysis import outcomes as an
from feedback.services.outcomes.events import EVENT_FIELDS, IDENTITY_FIELDS
from feedback.services.outcomes.importer import import_events, import_identities, parse_mapping
from feedback.services.outcomes.query import read_events, read_persons

OLIST = Path(os.environ.get("FEEDBACK_OLIST_DIR", Path(__file__).resolve().parents[3] / "shared/data/olist"))


@pytest.fixture(scope="module")
def raw() -> dict[str, pl.DataFrame]:
    assert OLIST.is_dir(), f"the Olist data is missing at {OLIST} (set FEEDBACK_OLIST_DIR)"
    read = {name: pl.read_csv(OLIST / f"{name}.csv", infer_schema_length=0) for name in ("reviews", "orders")}
    return read


def _responses(raw: dict[str, pl.DataFrame], persons: pl.DataFrame) -> pl.DataFrame:
    """One response per reviewed order: its score, its person (through the stored identity map), days late."""
    orders = raw["orders"].unique("order_id", keep="first")
    days_late = (
        pl.col("order_delivered_customer_date").str.to_datetime().dt.date()
        - pl.col("order_estimated_delivery_date").str.to_datetime().dt.date()
    ).dt.total_days()
    return (
        raw["reviews"]
        .join(orders, on="order_id")
        .unique("order_id", keep="first", maintain_order=True)
        .join(persons, on="customer_id")
        .select(
            pl.col("order_id").alias("response_id"),
            "person",
            pl.col("review_answer_timestamp").str.to_datetime().dt.replace_time_zone("UTC").alias("at"),
            pl.col("review_score").cast(pl.Int64).alias("score"),
            days_late.alias("days_late"),
        )
    )


def test_olist_lateness_lowers_the_score_and_buying_more_is_not_shown(raw, sessions) -> None:
    people = parse_mapping(["person_id=customer_unique_id"], IDENTITY_FIELDS)
    assert import_identities(sessions, OLIST / "customers.csv", mapping=people).stored == 99_441
    orders = parse_mapping(["occurred_at=order_purchase_timestamp", "reference=order_id"], EVENT_FIELDS)
    stored = import_events(sessions, OLIST / "orders.csv", source="olist", mapping=orders, kind="order")
    assert stored.stored == raw["orders"]["order_id"].n_unique() and stored.rejected == 0
    engine = sessions.kw["bind"]
    persons = read_persons(engine)
    responses = _responses(raw, persons)
    assert 6_400 < responses.height < 6_600  # README: 6,494 reviewed orders link to a person

    # Lateness, as the product reports it: late (any day after the promised date) minus on time.
    dose = an.dose_response(responses, "days_late", [0, 3, 7, 14], low_scores=(1, 2))
    assert dose.contrast is not None and dose.verdict == an.SHOWN
    late = responses.filter(pl.col("days_late") > 0)["score"].to_numpy().astype(float)
    on_time = responses.filter(pl.col("days_late") <= 0)["score"].to_numpy().astype(float)
    welch = stats.ttest_ind(late, on_time, equal_var=False)
    low, high = welch.confidence_interval()
    assert dose.contrast.value == pytest.approx(late.mean() - on_time.mean())
    assert (dose.contrast.low, dose.contrast.high) == pytest.approx((low, high), rel=1e-6)
    assert -2.05 < dose.contrast.value < -1.85 and -2.25 < dose.contrast.low < high < -1.65  # README
    means = [band.mean for band in dose.bands]
    assert means[0] > means[1] > means[2] > means[3]  # the score falls as lateness grows

    # "Buys more": the person placed more than one order (Olist gives each order its own customer id,
    # so the stored identity map counts a person's orders, dated or not).
    orders_per_person = persons.group_by("person").len("orders")
    linked = responses.join(orders_per_person, on="person").with_columns(
        (pl.col("orders") > 1).alias("repeat_purchase"), pl.lit(True).alias("complete")
    )
    effect = an.compare(linked, "repeat_purchase", pl.col("score") == 5, pl.col("score") <= 2, controls=())
    assert effect.naive is not None and effect.verdict == an.NOT_SHOWN
    top = linked.filter(pl.col("score") == 5)["repeat_purchase"].to_numpy().astype(float)
    bottom = linked.filter(pl.col("score") <= 2)["repeat_purchase"].to_numpy().astype(float)
    diff = top.mean() - bottom.mean()
    n = len(top) + len(bottom)
    se = np.sqrt((top.var() / len(top) + bottom.var() / len(bottom)) * n / (n - 2))  # HC1
    assert effect.naive.value == pytest.approx(100 * diff)
    assert (effect.naive.low, effect.naive.high) == pytest.approx(
        (100 * (diff - 1.96 * se), 100 * (diff + 1.96 * se)), abs=0.01
    )
    assert (
        0.9 < effect.naive.value < 1.3 and effect.naive.low < 0 < effect.naive.high
    )  # README: +1.08, 0 inside

    # Orders with dates: the product's events; behaviour after the review is rare in this partial copy.
    events = read_events(engine)
    assert events.height == stored.stored and events["person"].n_unique() < events.height
