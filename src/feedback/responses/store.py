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
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from feedback.analysis.scales import Cutoffs
from feedback.analysis.sentiment import ANALYZER, score_text
from feedback.config import get_settings
from feedback.db import unavailable
from feedback.db.bulk import insert_rows
from feedback.departments.service import department_slugs
from feedback.errors import (
    Conflict,
    FeedbackError,
    FieldError,
    InvalidInput,
    InvitationAlreadyAnswered,
    InvitationExpired,
    NotFound,
    ServiceUnavailable,
    SurveyClosed,
)
from feedback.metrics import rollups
from feedback.models import Answer, Invitation, Response, Survey, SurveyStatus
from feedback.models.context import CONTEXT_FIELDS
from feedback.responses.context import parse_context
from feedback.responses.submissions import Submission, SurveyDef, validate_answers
from feedback.tokens import hash_token

_RESPONSES = cast(Table, Response.__table__)
_ANSWERS = cast(Table, Answer.__table__)
_INVITATIONS = cast(Table, Invitation.__table__)
_SURVEYS = cast(Table, Survey.__table__)

# Built once: a statement built per batch costs more Python time than the batch's inserts.
_INVITATIONS_BY_HASH = (
    select(
        *(
            _INVITATIONS.c[name]
            for name in ("id", "survey_id", "token_hash", "created_at", "expires_at", "responded_at")
        ),
        *(_INVITATIONS.c[name] for name in CONTEXT_FIELDS),
        _RESPONSES.c.id.label("response_id"),
        _RESPONSES.c.complete.label("response_complete"),
    )
    .outerjoin(_RESPONSES, _RESPONSES.c.invitation_id == _INVITATIONS.c.id)
    .where(_INVITATIONS.c.token_hash.in_(bindparam("hashes", expanding=True)))
)
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
).where(_RESPONSES.c.idempotency_key.in_(bindparam("keys", expanding=True)))
# Each database through its own index for the key (models/response.py): PostgreSQL's is the key
# alone, SQLite's the unique constraint's, which needs the survey too.
_EARLIER_IN_SURVEYS = _EARLIER.where(_RESPONSES.c.survey_id.in_(bindparam("surveys", expanding=True)))
_MARK_ANSWERED = (
    update(_INVITATIONS).where(_INVITATIONS.c.id == bindparam("iid")).values(responded_at=bindparam("at"))
)
# A partial response is updated in place (a new score, or Send completing it), never once it is complete.
_UPDATE_PARTIAL = (
    update(_RESPONSES)
    .where(_RESPONSES.c.id == bindparam("rid"), _RESPONSES.c.complete.is_(False))
    .values(
        {
            name: bindparam(name)
            for name in ("via", "complete", "language", "nps", "csat", "ces", *CONTEXT_FIELDS)
        }
    )
)
_DROP_ANSWERS = delete(_ANSWERS).where(_ANSWERS.c.response_id == bindparam("rid"))


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
    """What a writer reads once: survey snapshots by id (refreshed whenever the survey's updated_at moves),
    and the cut-offs the rollups count dissatisfied responses by (the settings')."""

    def __init__(self) -> None:
        self._by_id: dict[int, SurveyDef] = {}
        self.cutoffs = get_settings().cutoffs

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
    """Store what is valid in one transaction, comments scored for sentiment; every submission gets its
    own outcome."""

    def again(batch: Sequence[Submission]) -> list[Outcome]:
        with factory.begin() as session:
            return _store(session, batch, cache, max_text_chars)

    try:
        return again(submissions)
    except IntegrityError:
        # Another process stored a conflicting row between our checks and our insert.
        if len(submissions) > 1:
            return [store_batch(factory, [s], cache, max_text_chars)[0] for s in submissions]
        try:
            return again(submissions)
        except IntegrityError:
            return [Conflict("a concurrent request stored a conflicting response; retry")]
    except DBAPIError as exc:
        if unavailable(exc):
            return [ServiceUnavailable("the database is unavailable; retry shortly")] * len(submissions)
        raise


def store_in(
    session: Session, submissions: Sequence[Submission], cache: SurveyCache, max_text_chars: int
) -> list[Outcome]:
    """``store_batch`` inside a transaction the caller holds (an import stores its chunk with its rows)."""
    return _store(session, submissions, cache, max_text_chars)


@dataclass
class _Lookup:
    """What a batch's checks read from the database, once for the whole batch."""

    invitations: dict[str, Any]  # token hash -> invitation row
    surveys: dict[int, SurveyDef]
    by_slug: dict[str, SurveyDef]
    by_key: dict[str, SurveyDef]
    earlier: dict[tuple[int, str], tuple[str | None, Stored]]  # (survey, idempotency key) -> (hash, stored)
    departments: dict[str, int] | None = None  # read when a submission first brings its own context


@dataclass
class _Accepted:
    """A submission that passed every check, with what its rows are made of."""

    survey: SurveyDef
    invitation: Any
    answers: list[Any]  # validated answers
    context: dict[str, Any]
    request_hash: str | None


@dataclass
class _Rows:
    """The rows a batch writes, in one statement each."""

    responses: list[dict[str, Any]]
    answers: list[dict[str, Any]]
    answered: list[dict[str, Any]]  # invitations to mark answered
    partials: list[dict[str, Any]]  # partial responses updated in place (their answers replaced)
    newly_answered: list[Any] = field(default_factory=list)  # their invitations' rows, for the rollups
    polarity: dict[uuid.UUID, float] = field(default_factory=dict)  # each response's mean comment polarity


def _store(
    session: Session, subs: Sequence[Submission], cache: SurveyCache, max_text_chars: int
) -> list[Outcome]:
    """Check each submission in order against the batch's lookups, then write every accepted one."""
    lookup = _look_up(session, subs, cache)
    rows = _Rows([], [], [], [])
    used_invitations: set[int] = set()
    outcomes: list[Outcome] = []
    for sub in subs:
        try:
            checked = _check(session, sub, lookup, used_invitations, max_text_chars)
        except FeedbackError as error:
            outcomes.append(error)
            continue
        if isinstance(checked, Stored):  # a replay of an earlier request
            outcomes.append(checked)
            continue
        stored = _add_rows(rows, sub, checked)
        if checked.invitation is not None:
            used_invitations.add(checked.invitation.id)
        if sub.idempotency_key:
            lookup.earlier[(checked.survey.id, sub.idempotency_key)] = (checked.request_hash, stored)
        outcomes.append(stored)
    _write(session, rows, cache.cutoffs)
    return outcomes


def _look_up(session: Session, subs: Sequence[Submission], cache: SurveyCache) -> _Lookup:
    """The invitations, surveys and earlier idempotent requests the batch refers to."""
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
        query = _EARLIER if connection.dialect.name == "postgresql" else _EARLIER_IN_SURVEYS
        for row in connection.execute(query, {"keys": list(idem_keys), "surveys": list(surveys)}):
            if row.survey_id not in surveys:  # the same key sent to another survey
                continue
            slug = surveys[row.survey_id].slug
            earlier[(row.survey_id, row.idempotency_key)] = (
                row.request_hash,
                Stored(row.id, slug, row.submitted_at, replayed=True),
            )
    return _Lookup(invitations, surveys, by_slug, by_key, earlier)


def _check(
    session: Session, sub: Submission, lookup: _Lookup, used_invitations: set[int], max_text_chars: int
) -> _Accepted | Stored:
    """The rules, in order: the survey and invitation exist, a replay gets its first answer, the survey is
    open, the invitation is valid and unanswered, the answers and context are valid. Raises FeedbackError."""
    invitation = lookup.invitations.get(hash_token(sub.token)) if sub.token else None
    survey = _locate(sub, invitation, lookup.surveys, lookup.by_slug, lookup.by_key)
    request_hash = sub.request_hash() if sub.idempotency_key else None
    if sub.idempotency_key and (survey.id, sub.idempotency_key) in lookup.earlier:
        known_hash, stored = lookup.earlier[(survey.id, sub.idempotency_key)]
        if known_hash != request_hash:
            raise InvalidInput.on("Idempotency-Key", "this key was already used with a different request")
        return Stored(stored.response_id, stored.survey_slug, stored.submitted_at, True)
    if survey.status != SurveyStatus.OPEN:
        raise SurveyClosed.of(survey.slug)
    if invitation is not None:
        if invitation.expires_at is not None and invitation.expires_at <= sub.submitted_at:
            raise InvitationExpired.at(invitation.expires_at)
        answered_before = invitation.responded_at is not None and invitation.response_id is None
        if invitation.response_complete or answered_before or invitation.id in used_invitations:
            raise InvitationAlreadyAnswered.new()
    if sub.partial:  # a score saved from a link, completed later by Send: nothing is required yet
        if invitation is None:
            raise InvalidInput.on("token", "only an invitation's response can be saved in parts")
        survey = _nothing_required(survey)
    clean, errors = validate_answers(survey, sub.answers, max_text_chars)
    if sub.partial and not clean and not errors:
        errors.append(FieldError("answers", "nothing to save: no answer was given"))
    context: dict[str, Any] = {}
    if sub.context:
        if lookup.departments is None:
            lookup.departments = department_slugs(session)
        context, context_errors = parse_context(sub.context, lookup.departments, prefix="context.")
        errors.extend(context_errors)
    if errors:
        raise InvalidInput.of(errors)
    return _Accepted(survey, invitation, clean, context, request_hash)


def _add_rows(rows: _Rows, sub: Submission, accepted: _Accepted) -> Stored:
    """The response's row (scores and context copied onto it), its answers' rows (comments scored for
    sentiment) and its invitation marked answered."""
    survey, invitation, context = accepted.survey, accepted.invitation, accepted.context
    partial_id = None  # the invitation's partial response, completed or updated in place
    if invitation is not None:
        for name in CONTEXT_FIELDS:
            if getattr(invitation, name) is not None:
                context[name] = getattr(invitation, name)
        partial_id = invitation.response_id
        if invitation.responded_at is None:
            rows.answered.append({"iid": invitation.id, "at": sub.submitted_at})
            rows.newly_answered.append(invitation._mapping)
    context.setdefault("department_id", survey.department_id)
    response_id = partial_id or new_response_id()
    scores: dict[str, int | None] = {"nps": None, "csat": None, "ces": None}
    comments: list[float] = []  # the polarity of each comment
    for answer in accepted.answers:
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
        rows.answers.append(answer_row)
    if comments:
        rows.polarity[response_id] = sum(comments) / len(comments)
    values: dict[str, Any] = {
        "via": sub.via,
        "complete": not sub.partial,
        "language": sub.language,
        **scores,
        **{name: context.get(name) for name in CONTEXT_FIELDS},
    }
    if partial_id is not None:
        rows.partials.append({"rid": partial_id, **values})
    else:
        rows.responses.append(
            {
                "id": response_id,
                "survey_id": survey.id,
                "invitation_id": invitation.id if invitation else None,
                "submitted_at": sub.submitted_at,
                "idempotency_key": sub.idempotency_key,
                "request_hash": accepted.request_hash,
                **values,
            }
        )
    return Stored(response_id, survey.slug, sub.submitted_at)


def _write(session: Session, rows: _Rows, cutoffs: Cutoffs) -> None:
    """Every row of the batch, and the daily rollups they change (metrics/rollups.py)."""
    connection = session.connection()
    counted = list(rows.responses)
    if rows.partials:  # what the partial responses counted before they change
        before, polarity = rollups.stored_responses(connection, [p["rid"] for p in rows.partials])
        rollups.remove_responses(connection, list(before.values()), polarity, cutoffs)
        counted += [{**before[p["rid"]], **p, "id": p["rid"]} for p in rows.partials]
    for partial in rows.partials:  # before the answers go in: a partial's old answers are replaced
        if connection.execute(_UPDATE_PARTIAL, partial).rowcount != 1:
            # Another process completed it since we looked: retried alone, this becomes a Conflict.
            raise IntegrityError("UPDATE responses", None, Exception("the partial response was completed"))
        connection.execute(_DROP_ANSWERS, {"rid": partial["rid"]})
    insert_rows(connection, _RESPONSES, rows.responses)
    insert_rows(connection, _ANSWERS, rows.answers)
    if rows.answered:
        connection.execute(_MARK_ANSWERED, rows.answered)
    rollups.add_responses(connection, counted, rows.polarity, cutoffs)
    rollups.add_answered(connection, rows.newly_answered)


def _nothing_required(survey: SurveyDef) -> SurveyDef:
    """The survey as a partial response sees it: each answer is checked, none is required yet."""
    return replace(survey, questions=tuple(replace(q, required=False) for q in survey.questions))


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
