"""The product on real marketplace rows (Olist; ../shared/data/olist beside the repository, read-only).

Everything goes in through the product's own imports: the identity map and the orders (`feedback outcomes
import`), the reviews as CSAT responses with their comments and delivery lateness as a company-defined field
(`feedback responses import`, the file the shop would export: review, customer, days late). The figures come
out of the product's own services (`feedback outcomes drivers`, the responses as the analysis reads them) and
are checked against an independent computation here (NumPy and SciPy on the raw files), and against the data's
README (score falls with lateness; "buys more" for 5 against 1-2 not shown without controls).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from feedback.analysis import outcomes as an
from feedback.outcomes.events import EVENT_FIELDS, IDENTITY_FIELDS
from feedback.outcomes.importer import import_events, import_identities, parse_mapping
from feedback.outcomes.query import read_events, read_persons, read_responses
from feedback.outcomes.report import field_drivers
from feedback.responses.importer import import_responses
from tests import factories

OLIST = Path(
    os.environ.get("FEEDBACK_OLIST_DIR", "")
    or next(
        (
            p / "shared/data/olist"
            for p in Path(__file__).resolve().parents
            if (p / "shared/data/olist").is_dir()
        ),
        Path("../shared/data/olist"),
    )
)
SURVEY = [
    {"key": "score", "type": "csat", "prompt": "How satisfied are you with your order?", "required": True},
    {"key": "comment", "type": "text", "prompt": "Tell us more", "max_length": 5000},
]


@pytest.fixture(scope="module")
def raw() -> dict[str, pl.DataFrame]:
    assert OLIST.is_dir(), f"the Olist data is missing at {OLIST} (set FEEDBACK_OLIST_DIR)"
    read = {name: pl.read_csv(OLIST / f"{name}.csv", infer_schema_length=0) for name in ("reviews", "orders")}
    return read


def _shop_export(raw: dict[str, pl.DataFrame], path: Path) -> Path:
    """What the shop exports for the import: one review per order with its customer and days late (delivered
    minus promised, in days; blank when not delivered)."""
    orders = raw["orders"].unique("order_id", keep="first")
    days_late = (
        pl.col("order_delivered_customer_date").str.to_datetime().dt.date()
        - pl.col("order_estimated_delivery_date").str.to_datetime().dt.date()
    ).dt.total_days()
    raw["reviews"].join(orders, on="order_id").unique("order_id", keep="first", maintain_order=True).select(
        "order_id",
        "customer_id",
        "review_answer_timestamp",
        "review_score",
        pl.col("review_comment_message").str.slice(0, 5000).alias("review_comment_message"),
        days_late.alias("days_late"),
    ).write_csv(path)
    return path


def _independent(raw: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Straight from the raw files, without the product: each reviewed order's score, days late and person."""
    customers = pl.read_csv(OLIST / "customers.csv", infer_schema_length=0)
    orders = raw["orders"].unique("order_id", keep="first")
    delivered = pl.col("order_delivered_customer_date").str.to_datetime().dt.date()
    promised = pl.col("order_estimated_delivery_date").str.to_datetime().dt.date()
    return (
        raw["reviews"]
        .join(orders, on="order_id")
        .unique("order_id", keep="first")
        .join(customers, on="customer_id")
        .select(
            pl.col("review_score").cast(pl.Int64).alias("score"),
            (delivered - promised).dt.total_days().alias("days_late"),
            pl.col("customer_unique_id").alias("person"),
        )
    )


def test_olist_lateness_lowers_the_score_and_buying_more_is_not_shown(
    raw, sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fields.toml").write_text('[[fields]]\nname = "days_late"\ntype = "numeric"\n')
    monkeypatch.setenv("FEEDBACK_CONTEXT_FIELDS_FILE", str(tmp_path / "fields.toml"))
    people = parse_mapping(["person_id=customer_unique_id"], IDENTITY_FIELDS)
    assert import_identities(sessions, OLIST / "customers.csv", mapping=people).stored == 99_441
    orders = parse_mapping(["occurred_at=order_purchase_timestamp", "reference=order_id"], EVENT_FIELDS)
    stored = import_events(sessions, OLIST / "orders.csv", source="olist", mapping=orders, kind="order")
    assert stored.stored == raw["orders"]["order_id"].n_unique() and stored.rejected == 0
    factories.survey(sessions, slug="olist-reviews", questions=SURVEY, anonymous_link=False)
    export = _shop_export(raw, tmp_path / "reviews.csv")
    columns = ["id=order_id", "submitted_at=review_answer_timestamp", "score=review_score"]
    columns.append("comment=review_comment_message")
    imported = import_responses(
        sessions, export, survey_slug="olist-reviews", secret="s", max_text_chars=5000, pairs=columns
    )
    assert imported.rejected == 0 and imported.stored == imported.rows, imported.errors[:5]
    engine = sessions.kw["bind"]
    responses = read_responses(engine, "csat")
    independent = _independent(raw)
    assert (
        6_400 < responses.height == independent.height < 6_600
    )  # README: 6,494 reviewed orders link to a person

    # Lateness, as the product reports it (`feedback outcomes drivers --field days_late --bands 0,3,7,14`):
    # late (any day after the promised date) minus on time.
    dose = field_drivers(engine, scale="csat", field_name="days_late", edges=[0, 3, 7, 14])
    assert dose.contrast is not None and dose.verdict == an.SHOWN
    delivered = independent.filter(pl.col("days_late").is_not_null())
    late = delivered.filter(pl.col("days_late") > 0)["score"].to_numpy().astype(float)
    on_time = delivered.filter(pl.col("days_late") <= 0)["score"].to_numpy().astype(float)
    welch = stats.ttest_ind(late, on_time, equal_var=False)
    low, high = welch.confidence_interval()
    assert dose.contrast.value == pytest.approx(late.mean() - on_time.mean())
    assert (dose.contrast.low, dose.contrast.high) == pytest.approx((low, high), rel=1e-6)
    assert -2.05 < dose.contrast.value < -1.85 and -2.25 < dose.contrast.low < high < -1.65  # README
    means = [band.mean for band in dose.bands]
    assert means[0] > means[1] > means[2] > means[3]  # the score falls as lateness grows

    # "Buys more": the person placed more than one order (Olist gives each order its own customer id,
    # so the stored identity map counts a person's orders, dated or not), on the responses as stored.
    persons = read_persons(engine)
    orders_per_person = persons.group_by("person").len("orders")
    linked = responses.join(orders_per_person, on="person").with_columns(
        (pl.col("orders") > 1).alias("repeat_purchase"), pl.lit(True).alias("complete")
    )
    effect = an.compare(linked, "repeat_purchase", pl.col("score") == 5, pl.col("score") <= 2, controls=())
    assert effect.naive is not None and effect.verdict == an.NOT_SHOWN
    counted = independent.join(
        pl.read_csv(OLIST / "customers.csv", infer_schema_length=0)
        .group_by("customer_unique_id")
        .len("orders"),
        left_on="person",
        right_on="customer_unique_id",
    )
    top = (counted.filter(pl.col("score") == 5)["orders"] > 1).to_numpy().astype(float)
    bottom = (counted.filter(pl.col("score") <= 2)["orders"] > 1).to_numpy().astype(float)
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
