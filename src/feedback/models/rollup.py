"""Daily counts per survey and interaction context, kept up to date as responses and invitations arrive.

Counting every combination of every context field would make about as many rows as responses (products x
teams x regions x ...), so each response is counted in one row of each *grain*: the day, survey, department
and channel, plus one more field (the grain: contractor, product, team or region, held in ``facet``). A
question split or filtered by at most one of those four fields (besides department, survey and channel) is
answered from the rollups; one that needs two, or the agent, reads the responses themselves.

A missing value is stored as '' (a missing department as 0), so the key is unique on every database. Scores
are kept as histograms (how many answered each score), so every metric, any cut-off and its exact interval
can be computed from them; comment sentiment as count, sum and sum of squares. The "dissatisfied" rule
looks at all of a response's scores and its comments at once, so no histogram answers it: ``judged`` and
``dissatisfied`` count it for the cut-offs in force when they were counted, which ``rollup_settings``
records (``cutoffs``); reads use them only while that is the cut-offs of the settings.

Beside the daily rows, each grain has weekly and monthly ones (grain ``product:week``, ``product:month``;
``day``: the week's Monday or the month's first day, UTC), the sums of its daily rows, kept by the same writes
in the same transaction: a year split by product reads about 5,000 monthly rows and the days at its edges
instead of 146,000 daily rows (metrics/rollups.py ``cover``).

Mentions have one grain holding all three of their dimensions (source, department, product): the day and
those, counting only mentions not flagged as noise (what mention metrics count), with their polarity's
count, sum and sum of squares.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Date, Float, Integer, String, Table

from feedback.models.base import Base

GRAINS = ("contractor", "product", "team", "region")  # the context field each grain adds as its facet
SPANS = ("week", "month")  # coarser rows of each grain, beside the daily ones
ROLLUP_KEY = ("grain", "day", "survey_id", "department_id", "channel", "facet")
SCORE_RANGES = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8)}
SCORE_COLUMNS = tuple(f"{scale}_{score}" for scale, scores in SCORE_RANGES.items() for score in scores)
RESPONSE_COUNTS = ("responses", *SCORE_COLUMNS, "fcr_yes", "fcr_no", "comments")
RESPONSE_SUMS = ("polarity_sum", "polarity_sq")
DISSATISFIED_COUNTS = ("judged", "dissatisfied")  # for the cut-offs rollup_settings names
INVITATION_COUNTS = ("invitations", "responded")


def span_grain(grain: str, span: str) -> str:
    """The grain name of ``grain``'s weekly or monthly rows."""
    return f"{grain}:{span}"


def _key_columns() -> list[Column[Any]]:
    return [
        Column("grain", String(16), primary_key=True),
        Column("day", Date, primary_key=True),
        Column("survey_id", Integer, primary_key=True),
        Column("department_id", Integer, primary_key=True),
        Column("channel", String(64), primary_key=True),
        Column("facet", String(128), primary_key=True),
    ]


response_rollups = Table(
    "response_rollups",
    Base.metadata,
    *_key_columns(),
    *(Column(name, BigInteger, nullable=False) for name in RESPONSE_COUNTS),
    *(Column(name, Float, nullable=False) for name in RESPONSE_SUMS),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in DISSATISFIED_COUNTS),
)

invitation_rollups = Table(
    "invitation_rollups",
    Base.metadata,
    *_key_columns(),
    *(Column(name, BigInteger, nullable=False) for name in INVITATION_COUNTS),
)

MENTION_KEY = ("day", "source", "department_id", "product")
MENTION_COUNTS = ("mentions", "scored")  # scored: mentions with a polarity

mention_rollups = Table(
    "mention_rollups",
    Base.metadata,
    Column("day", Date, primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("department_id", Integer, primary_key=True),
    Column("product", String(128), primary_key=True),
    *(Column(name, BigInteger, nullable=False) for name in MENTION_COUNTS),
    *(Column(name, Float, nullable=False) for name in RESPONSE_SUMS),
)

rollup_settings = Table(
    "rollup_settings",
    Base.metadata,
    Column("name", String(32), primary_key=True),  # cutoffs: what judged and dissatisfied were counted for
    Column("value", String(255), nullable=False),
)
