"""Reading mentions back, newest first, filtered, and scoped to what the caller may see.

Sentiment classes follow the stored polarity and the vocabulary's cut-off (FEEDBACK_NEGATIVE_POLARITY,
analysis/scales.py): negative below it (-0.05), positive above its mirror (+0.05), neutral between (and
mentions without a score). ``before_id`` pages: the next page starts after that mention.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.config import get_settings
from feedback.errors import InvalidInput
from feedback.models import Department, Mention
from feedback.privacy import exposure

_S = TypeVar("_S", bound=Select[Any])


class SentimentClass(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class NoiseFilter(StrEnum):
    INCLUDE = "include"  # every mention (the default: nothing is hidden unless asked)
    EXCLUDE = "exclude"  # only mentions not flagged as noise
    ONLY = "only"  # only the flagged ones


class MentionOut(msgspec.Struct):
    id: int
    source: str
    source_id: str
    via: str
    author: str | None
    url: str | None
    text: str
    text_norm: str
    lang: str | None
    posted_at: datetime
    received_at: datetime
    followers: int | None
    likes: int | None
    shares: int | None
    product: str | None
    brand: str | None
    department: str | None
    polarity: float | None
    subjectivity: float | None
    analyzer: str | None
    noise: str | None


class MentionFilter(msgspec.Struct, kw_only=True):
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    product: str | None = None
    sentiment: SentimentClass | None = None
    noise: NoiseFilter = NoiseFilter.INCLUDE
    limit: int = 100
    before_id: int | None = None


def _filtered(query: _S, f: MentionFilter, department_id: int | None) -> _S:
    if department_id is not None:
        query = query.where(Mention.department_id == department_id)
    if f.source:
        query = query.where(Mention.source == f.source.strip().lower())
    if f.since is not None:
        query = query.where(Mention.posted_at >= f.since)
    if f.until is not None:
        query = query.where(Mention.posted_at < f.until)
    if f.product:
        query = query.where(Mention.product == f.product)
    cutoffs = get_settings().cutoffs
    negative, positive = cutoffs.negative_polarity, cutoffs.positive_polarity
    if f.sentiment == SentimentClass.NEGATIVE:
        query = query.where(Mention.polarity < negative)
    elif f.sentiment == SentimentClass.POSITIVE:
        query = query.where(Mention.polarity > positive)
    elif f.sentiment == SentimentClass.NEUTRAL:
        query = query.where(or_(Mention.polarity.is_(None), Mention.polarity.between(negative, positive)))
    if f.noise == NoiseFilter.EXCLUDE:
        query = query.where(Mention.noise.is_(None))
    elif f.noise == NoiseFilter.ONLY:
        query = query.where(Mention.noise.is_not(None))
    return query


def list_mentions(session: Session, f: MentionFilter, *, department_id: int | None) -> list[MentionOut]:
    """Up to ``f.limit`` mentions, newest posted first; only ``department_id``'s when given."""
    query = _filtered(select(Mention), f, department_id)
    if f.before_id is not None:
        anchor = select(Mention.posted_at, Mention.id).where(Mention.id == f.before_id)
        if department_id is not None:
            anchor = anchor.where(Mention.department_id == department_id)
        after = session.execute(anchor).one_or_none()
        if after is None:
            raise InvalidInput.on("before_id", "no such mention")
        query = query.where(
            or_(
                Mention.posted_at < after.posted_at,
                and_(Mention.posted_at == after.posted_at, Mention.id < after.id),
            )
        )
    query = query.order_by(Mention.posted_at.desc(), Mention.id.desc()).limit(f.limit)
    slugs: dict[int, str] = dict(session.execute(select(Department.id, Department.slug)).all())
    return [
        MentionOut(
            m.id,
            m.source,
            m.source_id,
            m.via,
            m.author,
            m.url,
            m.text,
            m.text_norm,
            m.lang,
            m.posted_at,
            m.received_at,
            m.followers,
            m.likes,
            m.shares,
            m.product,
            m.brand,
            slugs.get(m.department_id) if m.department_id is not None else None,
            m.polarity,
            m.subjectivity,
            m.analyzer,
            m.noise,
        )
        for m in session.scalars(query)
    ]


def read_mentions(session: Session, caller: Caller, f: MentionFilter) -> list[MentionOut]:
    """The mentions ``caller`` may see (routed to their department for a head), redacted for them."""
    return exposure.mentions(caller, list_mentions(session, f, department_id=caller.scope()))
