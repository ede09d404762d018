"""The cut-offs that apply (the company's, and each survey's own bands), and which stored responses are
dissatisfied, in SQL: the one rule of analysis/scales.py over ``responses``.

A response's text polarity is the mean polarity of its comments (as in the ``sentiment`` metric); it decides
only for a response without any score.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, aliased

from feedback.analysis.scales import Bands, Cutoffs
from feedback.config import get_settings
from feedback.models import Answer, Response, Survey


def survey_cutoffs(db: Session | Connection, company: Cutoffs | None = None) -> Cutoffs:
    """``company``'s cut-offs (default: the settings') with every survey's own bands: what every surface
    counts answers by."""
    rows = db.execute(select(Survey.id, Survey.bands).where(Survey.bands.is_not(None)))
    own = {sid: {s: Bands.of_pair(s, pair) for s, pair in (bands or {}).items()} for sid, bands in rows}
    return (company or get_settings().cutoffs).with_surveys(own)


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


def dissatisfied_response(cutoffs: Cutoffs) -> Any:
    """A WHERE clause: the ``Response`` row is dissatisfied (by ``survey_cutoffs``: its survey's bands)."""
    return cutoffs.dissatisfied_sql(
        Response.nps, Response.csat, Response.ces, response_polarity(), Response.survey_id
    )
