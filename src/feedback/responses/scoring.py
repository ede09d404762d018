"""Sentiment of comments stored without it: the response writer answers a submission once its rows are
committed, and scores its comments afterwards, when no request waits (and at least every second).

Exactly once, also across a crash: a comment is filled in by an UPDATE that matches it only while it is
unscored and still holds the text that was scored, and its response's rollups move from the polarity
they counted to the new one in the same transaction; the responses are locked first (PostgreSQL; on
SQLite the first UPDATE takes the database's write lock), so two scorers never count one response
twice. A crash between a submission's commit and its scoring leaves its comments unscored, with rollups
that count it without them (as ``feedback metrics rebuild`` would); the next scorer finds them through
``ix_answers_unscored``. Partial responses are scored when they are stored (completing one replaces its
answers), so only complete responses are scored here.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from feedback.analysis.scales import Cutoffs
from feedback.analysis.sentiment import ANALYZER, score_text
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


def score_unscored(factory: sessionmaker[Session], cutoffs: Cutoffs, limit: int = 256) -> tuple[int, bool]:
    """Score up to ``limit`` unscored comments of complete responses and count them in the rollups: how
    many this call filled in, and whether more may be left."""
    with factory() as session:  # read without holding a transaction; the texts are scored outside one
        found = session.execute(_UNSCORED, {"limit": limit}).all()
    if not found:
        return 0, False
    scored = [(row, score_text(row.text)) for row in found]
    with factory.begin() as session:
        connection = session.connection()
        connection.execute(_LOCK, {"ids": sorted({row.response_id for row in found})}).all()
        mine: set[tuple[uuid.UUID, int]] = set()
        for row, sentiment in scored:
            filled = connection.execute(
                _FILL,
                {
                    "rid": row.response_id,
                    "qid": row.question_id,
                    "scored_text": row.text,
                    "polarity": sentiment.polarity,
                    "subjectivity": sentiment.subjectivity,
                },
            )
            if filled.rowcount == 1:  # not scored meanwhile by another writer, not changed or deleted
                mine.add((row.response_id, row.question_id))
        if mine:
            ids = sorted({rid for rid, _ in mine})
            before: dict[uuid.UUID, list[float]] = defaultdict(list)
            after: dict[uuid.UUID, list[float]] = defaultdict(list)
            for rid, qid, polarity in connection.execute(_POLARITIES, {"ids": ids}):
                after[rid].append(polarity)
                if (rid, qid) not in mine:
                    before[rid].append(polarity)
            responses, _ = rollups.stored_responses(connection, ids)
            rollups.rescore_responses(
                connection, list(responses.values()), _means(before), _means(after), cutoffs
            )
    return len(mine), len(found) == limit


def _means(polarities: dict[uuid.UUID, list[float]]) -> dict[uuid.UUID, float]:
    """Each response's mean comment polarity, as the writer computes it when it scores at once."""
    return {rid: sum(values) / len(values) for rid, values in polarities.items() if values}


class CommentScorer:
    """When the writer scores: whenever it is idle, and under a load that never lets it be idle, a few
    comments at least every ``every_s`` seconds. Errors are logged and tried again later: the comments
    stay unscored until then, never half counted."""

    def __init__(self, factory: sessionmaker[Session], cutoffs: Cutoffs, every_s: float = 1.0) -> None:
        self._factory = factory
        self._cutoffs = cutoffs
        self._every_s = every_s
        self._last = time.monotonic()
        self.pending = True  # unknown at the start: comments a stopped writer left unscored

    def stored(self) -> None:
        """A batch was committed: it may have brought comments to score."""
        self.pending = True

    def overdue(self) -> bool:
        return self.pending and time.monotonic() - self._last >= self._every_s

    def run(self, limit: int = 256) -> int:
        self._last = time.monotonic()
        try:
            done, self.pending = score_unscored(self._factory, self._cutoffs, limit)
        except Exception:  # a locked or unreachable database: the comments wait for the next idle second
            log.exception("scoring the sentiment of stored comments failed")
            self.pending = False
            return 0
        return done
