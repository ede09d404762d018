"""Which stored responses are dissatisfied, in SQL: the one rule of analysis/scales.py over ``responses``.

A response's text polarity is the mean polarity of its comments (as in the ``sentiment`` metric); it decides
only for a response without any score.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from feedback.analysis.scales import Cutoffs
from feedback.config import get_settings
from feedback.models import Answer, Response


def response_polarity() -> Any:
    """The mean comment polarity of the current ``Response`` row (a scalar subquery correlated with it only,
    so that it also works in a query that reads answers itself)."""
    comment = aliased(Answer)
    return (
        select(func.avg(comment.polarity))
        .where(comment.response_id == Response.id, comment.polarity.is_not(None))
        .correlate(Response)
        .scalar_subquery()
    )


def dissatisfied_response(cutoffs: Cutoffs | None = None) -> Any:
    """A WHERE clause: the ``Response`` row is dissatisfied (cut-offs from the settings by default)."""
    rule = cutoffs or get_settings().cutoffs
    return rule.dissatisfied_sql(Response.nps, Response.csat, Response.ces, response_polarity())
