"""Sentiment of comments stored without it, scored exactly once.

The response writer scores comments as it stores them. Comments found unscored later were left by an
earlier version of the writer, which answered first and scored after the commit (a crash between the
two left them so, with rollups counting their responses without them, as ``feedback metrics rebuild``
would). The writer looks for them through ``ix_answers_unscored`` when it starts and scores them when no
request waits. Exactly once, also across a crash or two writers: a comment is filled in by an UPDATE
that matches it only while it is unscored and still holds the text that was scored, and its response's
rollups move from the polarity they counted to the new one in the same transaction; the responses are
locked first (PostgreSQL; on SQLite the first UPDATE takes the database's write lock), so two scorers
never count one response twice. Only complete responses are scored here: a partial one is scored when
it is stored, and completing it replaces its answers.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.scales import Cutoffs
from feedback.analysis.sentiment import ANALYZER, Sentiment, score_text
from feedback.metrics import rollups
from feedback.models import Answer, Response

log = logging.getLogger(__name__)

_ANSWERS = cast(Table, Answer.__table__)
_RESPONSES = cast(Table, Response.__table__)

_UNSCORED = (
    select(_ANSWERS.c.response_id, _ANSWERS.c.question_id, _ANSWERS.c.text)
    .join(_RESPONSES, _RESPONSES.c.id == _ANSWERS.c.response_id)
    .where(_ANSWERS.c.analyzer.is_(None), _ANSWERS.c.text.is_not(None), _RESPONSES.c.complete.is_(True))
    .order_by(_ANSWERS.c.response_id)  # oldest first (UUIDv7)
    .limit(bindparam("limit"))
)
_LOCK = (
    select(_RESPONSES.c.id)
    .where(_RESPONSES.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_RESPONSES.c.id)
    .with_for_update()
)
_FILL = (
    update(_ANSWERS)
    .where(
        _ANSWERS.c.response_id == bindparam("rid"),
        _ANSWERS.c.question_id == bindparam("qid"),
        _ANSWERS.c.analyzer.is_(None),
        _ANSWERS.c.text == bindparam("scored_text"),
    )
    .values(polarity=bindparam("polarity"), subjectivity=bindparam("subjectivity"), analyzer=ANALYZER)
)
_POLARITIES = (
    select(_ANSWERS.c.response_id, _ANSWERS.c.question_id, _ANSWERS.c.polarity)
    .where(_ANSWERS.c.response_id.in_(bindparam("ids", expanding=True)), _ANSWERS.c.polarity.is_not(None))
    .order_by(_ANSWERS.c.response_id, _ANSWERS.c.question_id)
)


class Unscored(NamedTuple):
    """A comment stored without its sentiment."""

    response_id: uuid.UUID
    question_id: int
    text: str


def score_unscored(factory: sessionmaker[Session], cutoffs: Cutoffs, limit: int = 256) -> tuple[int, bool]:
    """Score up to ``limit`` unscored comments of complete responses found in the database and count them
    in the rollups: how many this call filled in, and whether more may be left."""
    with factory() as session:  # read without holding a transaction; the texts are scored outside one
        found = session.execute(_UNSCORED, {"limit": limit}).all()
    return score_comments(factory, cutoffs, [Unscored(*row) for row in found]), len(found) == limit


def score_comments(factory: sessionmaker[Session], cutoffs: Cutoffs, comments: Sequence[Unscored]) -> int:
    """Score these comments of complete responses, fill in those still unscored with the text that was
    scored, and count them in the rollups: how many this call filled in."""
    if not comments:
        return 0
    scored = [(comment, score_text(comment.text)) for comment in comments]
    try:
        mine = _fill_and_count(factory, scored, cutoffs, at_once=True)
    except _Changed:  # another writer scored or changed one meanwhile: find out which, one by one
        mine = _fill_and_count(factory, scored, cutoffs, at_once=False)
    return len(mine)


class _Changed(Exception):
    """A comment read as unscored was no longer so when it was filled in."""


def _fill_and_count(
    factory: sessionmaker[Session], scored: list[tuple[Unscored, Sentiment]], cutoffs: Cutoffs, at_once: bool
) -> set[tuple[uuid.UUID, int]]:
    """Fill in the comments still unscored and move their responses' rollups, in one transaction: which
    ones were filled. ``at_once``: one statement for all (one round trip), raising _Changed (and rolling
    back) unless every one was still unscored; else one statement each, keeping those that matched."""
    params = [
        {
            "rid": comment.response_id,
            "qid": comment.question_id,
            "scored_text": comment.text,
            "polarity": sentiment.polarity,
            "subjectivity": sentiment.subjectivity,
        }
        for comment, sentiment in scored
    ]
    with factory.begin() as session:
        connection = session.connection()
        connection.execute(_LOCK, {"ids": sorted({c.response_id for c, _ in scored})}).all()
        if at_once:
            if connection.execute(_FILL, params).rowcount != len(params):
                raise _Changed
            mine = {(c.response_id, c.question_id) for c, _ in scored}
        else:  # not scored meanwhile by another writer, not changed or deleted
            mine = {
                (c.response_id, c.question_id)
                for (c, _), p in zip(scored, params, strict=True)
                if connection.execute(_FILL, p).rowcount == 1
            }
        if mine:
            ids = sorted({rid for rid, _ in mine})
            before: dict[uuid.UUID, list[float]] = defaultdict(list)
            after: dict[uuid.UUID, list[float]] = defaultdict(list)
            for rid, qid, polarity in connection.execute(_POLARITIES, {"ids": ids}):
                after[rid].append(polarity)
                if (rid, qid) not in mine:
                    before[rid].append(polarity)
            responses = rollups.stored_rows(connection, ids)
            rollups.rescore_responses(
                connection, list(responses.values()), _means(before), _means(after), cutoffs
            )
    return mine


def _means(polarities: dict[uuid.UUID, list[float]]) -> dict[uuid.UUID, float]:
    """Each response's mean comment polarity, as the writer computes it when it scores at once."""
    return {rid: sum(values) / len(values) for rid, values in polarities.items() if values}


class CommentScorer:
    """The writer's search for comments left unscored: at its start and after an error, run when no
    request waits (and, under a load that never lets it be idle, a few at least every ``every_s``
    seconds) until none is left. Errors are logged and tried again later: the comments stay unscored
    until then, never half counted."""

    def __init__(self, factory: sessionmaker[Session], cutoffs: Cutoffs, every_s: float = 1.0) -> None:
        self._factory = factory
        self._cutoffs = cutoffs
        self._every_s = every_s
        self._last = time.monotonic()
        self.pending = True

    def overdue(self) -> bool:
        return self.pending and time.monotonic() - self._last >= self._every_s

    def run(self, limit: int = 256) -> int:
        self._last = time.monotonic()
        try:
            done, self.pending = score_unscored(self._factory, self._cutoffs, limit)
        except Exception:  # a locked or unreachable database: searched again when the writer is next idle
            log.exception("scoring the sentiment of stored comments failed")
            self.pending = False
            return 0
        return done
