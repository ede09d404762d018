"""Daily counts per survey and interaction context, kept up to date as responses and invitations arrive.

One row per (UTC day, survey, department, channel, product, team, contractor, region). A missing context
value is stored as '' (a missing department as 0), so the key is unique on every database. Scores are kept
as histograms (how many answered each score), so every metric, any cut-off and its exact interval can be
computed from them; comment sentiment as count, sum and sum of squares. The agent is no key: it has too
many values to save reading (metrics by agent read the responses themselves).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Date, Float, Integer, String, Table

from feedback.models.base import Base
from feedback.models.context import CONTEXT_TEXT_FIELDS

ROLLUP_TEXT_FIELDS = tuple(name for name in CONTEXT_TEXT_FIELDS if name != "agent")
ROLLUP_KEY = ("day", "survey_id", "department_id", *ROLLUP_TEXT_FIELDS)
SCORE_RANGES = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8)}
SCORE_COLUMNS = tuple(f"{scale}_{score}" for scale, scores in SCORE_RANGES.items() for score in scores)
RESPONSE_COUNTS = ("responses", *SCORE_COLUMNS, "fcr_yes", "fcr_no", "comments")
RESPONSE_SUMS = ("polarity_sum", "polarity_sq")
INVITATION_COUNTS = ("invitations", "responded")


def _key_columns() -> list[Column[Any]]:
    return [
        Column("day", Date, primary_key=True),
        Column("survey_id", Integer, primary_key=True),
        Column("department_id", Integer, primary_key=True),
        *(Column(name, String(128), primary_key=True) for name in ROLLUP_TEXT_FIELDS),
    ]


response_rollups = Table(
    "response_rollups",
    Base.metadata,
    *_key_columns(),
    *(Column(name, BigInteger, nullable=False) for name in RESPONSE_COUNTS),
    *(Column(name, Float, nullable=False) for name in RESPONSE_SUMS),
)

invitation_rollups = Table(
    "invitation_rollups",
    Base.metadata,
    *_key_columns(),
    *(Column(name, BigInteger, nullable=False) for name in INVITATION_COUNTS),
)
