"""Storing responses: many submissions, one transaction (group commit), one outcome each.

Each submission is checked in order inside the batch's transaction, so the checks and the writes
see the same data: an invitation answered earlier in the batch is answered; an idempotency key used
earlier in the batch is a replay. Unique constraints back every rule up when another process races us.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from feedback.analysis.sentiment import ANALYZER, score_text
from feedback.errors import (
    Conflict,
    FeedbackError,
    FieldError,
    Gone,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
)
from feedback.models import Answer, Invitation, Response, Survey, SurveyStatus
from feedback.models.context import CONTEXT_FIELDS
from feedback.services import rollups
from feedback.services.context import parse_context
from feedback.services.departments import department_slugs
from feedback.services.submissions import Submission, SurveyDef, validate_answers
from feedback.services.tokens import hash_token

_RESPONSES = cast(Table, Response.__table__)
_ANSWERS = cast(Table, Answer.__table__)
_INVITATIONS = cast(Table, Invitation.__table__)
_SURVEYS = cast(Table, Survey.__table__)

# Built once: a statement built per batch costs more Python time than the batch's inserts.
_INVITATIONS_BY_HASH = select(
    *(
        _INVITATIONS.c[name]
        for name in ("id", "survey_id", "token_hash", "created_at", "expires_at", "responded_at")
    ),
    *(_INVITATIONS.c[name] for name in CONTEXT_FIELDS),
).where(_INVITATIONS.c.token_hash.in_(bindparam("hashes", expanding=True)))
_SURVEY_ROWS = select(_SURVEYS.c.id, _SURVEYS.c.slug, _SURVEYS.c.public_key, _SURVEYS.c.updated_at).where(
    or_(
        _SURVEYS.c.id.in_(bindparam("ids", expanding=True)),
        _SURVEYS.c.slug.in_(bindparam("slugs", expanding=True)),
        _SURVEYS.c.public_key.in_(bindparam("keys", expanding=True)),
    )
)
_EARLIER = select(
    _RESPONSES.c.id,
    _RESPONSES.c.survey_id,
    _RESPONSES.c.idempotency_key,
    _RESPONSES.c.request_hash,
    _RESPONSES.c.submitted_at,
).where(
    _RESPONSES.c.survey_id.in_(bindparam("surveys", expanding=True)),
    _RESPONSES.c.idempotency_key.in_(bindparam("keys", expanding=True)),
)
_INSERT_RESPONSES = insert(_RESPONSES)
_INSERT_ANSWERS = insert(_ANSWERS)
_MARK_ANSWERED = (
    update(_INVITATIONS).where(_INVITATIONS.c.id == bindparam("iid")).values(responded_at=bindparam("at"))
)


def new_response_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): Unix milliseconds, then 74 random bits.

    Later responses get larger ids, so the primary-key indexes of responses and answers grow at their
    end: a batch dirties a few pages instead of one random page per row (half the commit time on
    SQLite, measured), and the ids stay as unguessable as they need to be.
    """
    milliseconds = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (milliseconds & (1 << 48) - 1) << 80 | 0x7 << 76  # 48 bits of time, version 7
    value |= (rand >> 68) << 64 | 0b10 << 62 | rand & (1 << 62) - 1  # 12 random bits, variant, 62 random bits
    return uuid.UUID(int=value)


@dataclass(frozen=True)
class Stored:
    """A response that is durably stored (replayed: it was stored by an earlier request)."""

    response_id: uuid.UUID
    survey_slug: str
    submitted_at: datetime
    replayed: bool = False


Outcome = Stored | FeedbackError


class SurveyCache:
    """Survey snapshots by id, refreshed whenever the survey's updated_at moves."""

    def __init__(self) -> None:
        self._by_id: dict[int, SurveyDef] = {}

    def resolve(self, session: Session, rows: Sequence[Any]) -> dict[int, SurveyDef]:
        stale = [r.id for r in rows if (c := self._by_id.get(r.id)) is None or c.updated_at != r.updated_at]
        if stale:
            query = select(Survey).where(Survey.id.in_(stale)).options(selectinload(Survey.questions))
            for survey in session.scalars(query):
                self._by_id[survey.id] = SurveyDef.of(survey)
        return {r.id: self._by_id[r.id] for r in rows}


def store_batch(
    factory: sessionmaker[Session], submissions: Sequence[Submission], cache: SurveyCache, max_text_chars: int
) -> list[Outcome]:
    """Store what is valid in one transaction; every submission gets its own outcome."""
    try:
        with factory.begin() as session:
            return _store(session, submissions, cache, max_text_chars)
    except IntegrityError:
        # Another process stored a conflicting row between our checks and our insert.
        if len(submissions) > 1:
            return [store_batch(factory, [s], cache, max_text_chars)[0] for s in submissions]
        try:
            with factory.begin() as session:
                return _store(session, submissions, cache, max_text_chars)
        except IntegrityError:
            return [Conflict("a concurrent request stored a conflicting response; retry")]
    except DBAPIError as exc:
        if unavailable(exc):
            return [ServiceUnavailable("the database is unavailable; retry shortly")] * len(submissions)
        raise


def unavailable(exc: DBAPIError) -> bool:
    """Whether a driver error means the database cannot be used right now (down, unreachable, locked by
    another process, read-only, out of disk), so a retry later can succeed: an answer 503, never 500."""
    return isinstance(exc, OperationalError) or exc.connection_invalidated or isinstance(exc.orig, OSError)


def _store(
    session: Session, subs: Sequence[Submission], cache: SurveyCache, max_text_chars: int
) -> list[Outcome]:
    connection = session.connection()
    token_hashes = {hash_token(s.token) for s in subs if s.token}
    invitations = (
        {
            row.token_hash: row
            for row in connection.execute(_INVITATIONS_BY_HASH, {"hashes": list(token_hashes)})
        }
        if token_hashes
        else {}
    )
    slugs = {s.survey_slug for s in subs if s.survey_slug}
    keys = {s.public_key for s in subs if s.public_key}
    ids = {row.survey_id for row in invitations.values()}
    survey_rows = list(
        connection.execute(_SURVEY_ROWS, {"ids": list(ids), "slugs": list(slugs), "keys": list(keys)})
    )
    surveys = cache.resolve(session, survey_rows)
    by_slug = {d.slug: d for d in surveys.values()}
    by_key = {d.public_key: d for d in surveys.values() if d.public_key}
    idem_keys = {s.idempotency_key for s in subs if s.idempotency_key}
    earlier: dict[tuple[int, str], tuple[str | None, Stored]] = {}
    if idem_keys:
        for row in connection.execute(_EARLIER, {"surveys": list(surveys), "keys": list(idem_keys)}):
            slug = surveys[row.survey_id].slug if row.survey_id in surveys else ""
            earlier[(row.survey_id, row.idempotency_key)] = (
                row.request_hash,
                Stored(row.id, slug, row.submitted_at, replayed=True),
            )
    departments: dict[str, int] | None = None

    outcomes: list[Outcome] = []
    responses: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    answered: list[dict[str, Any]] = []
    answered_invitations: list[Any] = []
    polarity: dict[uuid.UUID, float] = {}
    used_invitations: set[int] = set()
    for sub in subs:
        try:
            invitation = invitations.get(hash_token(sub.token)) if sub.token else None
            survey = _locate(sub, invitation, surveys, by_slug, by_key)
            request_hash = sub.request_hash() if sub.idempotency_key else None
            if sub.idempotency_key and (survey.id, sub.idempotency_key) in earlier:
                known_hash, stored = earlier[(survey.id, sub.idempotency_key)]
                if known_hash != request_hash:
                    raise InvalidInput.on(
                        "Idempotency-Key", "this key was already used with a different request"
                    )
                outcomes.append(Stored(stored.response_id, stored.survey_slug, stored.submitted_at, True))
                continue
            if survey.status != SurveyStatus.OPEN:
                raise Gone(f"survey {survey.slug!r} is closed and takes no more responses")
            if invitation is not None:
                if invitation.expires_at is not None and invitation.expires_at <= sub.submitted_at:
                    raise Gone(f"this invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC")
                if invitation.responded_at is not None or invitation.id in used_invitations:
                    raise Conflict("this invitation was already answered; one response per invitation")
            clean, errors = validate_answers(survey, sub.answers, max_text_chars)
            context: dict[str, Any] = {}
            if sub.context:
                if departments is None:
                    departments = department_slugs(session)
                context, context_errors = parse_context(sub.context, departments, prefix="context.")
                errors.extend(context_errors)
            if errors:
                raise InvalidInput.of(errors)
        except FeedbackError as error:
            outcomes.append(error)
            continue

        if invitation is not None:
            for name in CONTEXT_FIELDS:
                if getattr(invitation, name) is not None:
                    context[name] = getattr(invitation, name)
            used_invitations.add(invitation.id)
            answered.append({"iid": invitation.id, "at": sub.submitted_at})
            answered_invitations.append(invitation._mapping)
        context.setdefault("department_id", survey.department_id)
        response_id = new_response_id()
        scores: dict[str, int | None] = {"nps": None, "csat": None, "ces": None}
        comments: list[float] = []  # the polarity of each comment
        for answer in clean:
            answer_row: dict[str, Any] = {
                "response_id": response_id,
                "question_id": answer.question.id,
                "score": answer.score,
                "choice": answer.choice,
                "text": answer.text,
                "polarity": None,
                "subjectivity": None,
                "analyzer": None,
            }
            if answer.text:
                sentiment = score_text(answer.text)
                answer_row.update(
                    polarity=sentiment.polarity, subjectivity=sentiment.subjectivity, analyzer=ANALYZER
                )
                comments.append(sentiment.polarity)
            if scores.get(answer.question.kind, 0) is None:  # the first question of each scale counts
                scores[answer.question.kind] = answer.score
            answers.append(answer_row)
        if comments:
            polarity[response_id] = sum(comments) / len(comments)
        responses.append(
            {
                "id": response_id,
                "survey_id": survey.id,
                "invitation_id": invitation.id if invitation else None,
                "via": sub.via,
                "submitted_at": sub.submitted_at,
                "idempotency_key": sub.idempotency_key,
                "request_hash": request_hash,
                **scores,
                **{name: context.get(name) for name in CONTEXT_FIELDS},
            }
        )
        stored = Stored(response_id, survey.slug, sub.submitted_at)
        if sub.idempotency_key:
            earlier[(survey.id, sub.idempotency_key)] = (request_hash, stored)
        outcomes.append(stored)

    if responses:
        connection.execute(_INSERT_RESPONSES, responses)
    if answers:
        connection.execute(_INSERT_ANSWERS, answers)
    if answered:
        connection.execute(_MARK_ANSWERED, answered)
    rollups.add_responses(connection, responses, polarity)
    rollups.add_answered(connection, answered_invitations)
    return outcomes


def _locate(
    sub: Submission,
    invitation: Any,
    surveys: dict[int, SurveyDef],
    by_slug: dict[str, SurveyDef],
    by_key: dict[str, SurveyDef],
) -> SurveyDef:
    if sub.token and invitation is None:
        raise NotFound("unknown invitation link; check that the whole link was copied")
    if sub.public_key is not None:
        if sub.public_key not in by_key:
            raise NotFound("unknown survey link")
        return by_key[sub.public_key]
    if invitation is not None:
        survey = surveys[invitation.survey_id]
        if sub.survey_slug and sub.survey_slug != survey.slug:
            raise InvalidInput.on("token", f"this invitation is for another survey, not {sub.survey_slug!r}")
        return survey
    if not sub.survey_slug or sub.survey_slug not in by_slug:
        raise NotFound(f"no survey {sub.survey_slug!r}")
    survey = by_slug[sub.survey_slug]
    if survey.public_key is None:
        raise InvalidInput.of([FieldError("token", "required: this survey takes only invited responses")])
    return survey
