"""Historical responses from CSV or Parquet files (answers given elsewhere: a former survey tool, a shop's
reviews), stored as if answered through the product, streamed: memory stays flat at any size.

Columns are the survey's question keys, ``id`` (the response's id in the source, required),
``submitted_at`` (ISO 8601, RFC 2822 or Unix seconds; UTC without a zone, required), ``customer_id`` (ties the
response to the customer's outcome events), the context fields (``channel``, ``department``...) and the
company's own fields; or mapped to the file's own names (``--map csat=review_score``). Each row becomes an
invitation of that customer, answered at ``submitted_at``, and its response: the same checks, sentiment,
rollups and context copying as a response sent through the API. Row errors name the line (row for Parquet) and
the file's column; a file with a bad row is rejected whole unless ``skip_invalid``. Importing the same file
again, or after a run stopped half-way, adds nothing: a row's invitation and its response are keyed by the
survey and ``id``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from feedback.db import read_by_keys
from feedback.departments.service import department_slugs
from feedback.errors import FieldError, Gone, InvalidInput
from feedback.mentions.prepare import parse_time
from feedback.metrics import rollups
from feedback.models import Invitation, Survey, SurveyStatus
from feedback.models.context import CONTEXT_FIELDS
from feedback.outcomes.importer import ImportReport, Record, import_rows, parse_mapping, read_records
from feedback.responses.context import CONTEXT_INPUT_FIELDS, company_fields, parse_context
from feedback.responses.store import Stored, SurveyCache, store_in
from feedback.responses.submissions import Submission, SurveyDef, validate_answers
from feedback.tokens import hash_token

RESPONSE_KEYS = ("id", "submitted_at", "customer_id")
VIA = "import"
_INVITATIONS = cast(Table, Invitation.__table__)


@dataclass(frozen=True)
class ImportedRow:
    where: str
    source_id: str
    submitted_at: datetime
    customer_id: str | None
    answers: dict[str, Any]
    context: dict[str, Any]  # column values (responses/context.py)


def response_fields(survey: Survey) -> tuple[str, ...]:
    """The names a file's columns may have (or be mapped to) for ``survey``."""
    questions = tuple(q.key for q in survey.questions)
    return (*RESPONSE_KEYS, *questions, *CONTEXT_INPUT_FIELDS, *(f.name for f in company_fields()))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _parser(
    survey: SurveyDef, departments: Mapping[str, int], max_text_chars: int
) -> Callable[[Record], ImportedRow | list[FieldError]]:
    questions = {q.key for q in survey.questions}

    def parse(record: Record) -> ImportedRow | list[FieldError]:
        where, raw = record
        if "" in raw:
            return [FieldError(where.rstrip(": "), str(raw[""]))]
        errors: list[FieldError] = []
        source_id = _text(raw.get("id"))
        if not source_id or len(source_id) > 200:
            errors.append(FieldError(where + "id", "required, at most 200 characters"))
        at: datetime | None = None
        try:
            at = parse_time(raw.get("submitted_at")) if _text(raw.get("submitted_at")) else None
            if at is None:
                errors.append(FieldError(where + "submitted_at", "required"))
        except ValueError as exc:
            errors.append(FieldError(where + "submitted_at", str(exc)))
        customer_id = _text(raw.get("customer_id")) or None
        if customer_id is not None and len(customer_id) > 200:
            errors.append(FieldError(where + "customer_id", "at most 200 characters"))
        answers = {k: v for k, v in raw.items() if k in questions and _text(v)}
        errors += validate_answers(survey, answers, max_text_chars, prefix=where)[1]
        context, context_errors = parse_context(raw, departments, prefix=where)
        errors += context_errors
        if errors or at is None:
            return errors
        return ImportedRow(where, source_id, at, customer_id, answers, context)

    return parse


def _token(secret: str, survey_id: int, source_id: str) -> str:
    """The row's invitation token: the same on every import of the row, known to nobody without the key."""
    message = f"import\x1f{survey_id}\x1f{source_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _dedup_key(source_id: str) -> str:
    return hashlib.blake2b(f"import\x1f{source_id}".encode(), digest_size=16).hexdigest()


def _storer(
    survey: Survey, secret: str, max_text_chars: int
) -> Callable[[Session, list[ImportedRow]], tuple[int, int, list[FieldError]]]:
    cache = SurveyCache()

    def store(session: Session, rows: list[ImportedRow]) -> tuple[int, int, list[FieldError]]:
        read_by_keys(session)  # tables grown since PostgreSQL last analysed them must not be read whole
        keys = {_dedup_key(r.source_id): r for r in rows}
        known = set(
            session.scalars(
                select(Invitation.dedup_key).where(
                    Invitation.survey_id == survey.id, Invitation.dedup_key.in_(list(keys))
                )
            )
        )
        fresh = [
            {
                "survey_id": survey.id,
                "token_hash": hash_token(_token(secret, survey.id, r.source_id)),
                "dedup_key": key,
                "email": None,
                "customer_id": r.customer_id,
                "interaction_id": r.source_id,
                "language": None,
                "expires_at": None,
                "created_at": r.submitted_at,
                "responded_at": None,
                **{name: None for name in CONTEXT_FIELDS},
                "department_id": survey.department_id,
                **r.context,
            }
            for key, r in keys.items()
            if key not in known
        ]
        if fresh:
            session.execute(insert(_INVITATIONS), fresh)
            rollups.add_invitations(session.connection(), fresh)
        submissions = [
            Submission(
                answers=r.answers,
                via=VIA,
                submitted_at=r.submitted_at,
                survey_slug=survey.slug,
                token=_token(secret, survey.id, r.source_id),
                idempotency_key=f"import:{r.source_id}",
            )
            for r in keys.values()
        ]
        outcomes = store_in(session, submissions, cache, max_text_chars)
        stored = sum(isinstance(o, Stored) and not o.replayed for o in outcomes)
        problems = [
            FieldError(r.where.rstrip(": "), str(o))
            for r, o in zip(keys.values(), outcomes, strict=True)
            if not isinstance(o, Stored)
        ]
        duplicates = len(rows) - stored - len(problems)
        return stored, duplicates, problems

    return store


def import_responses(
    factory: sessionmaker[Session],
    path: Path,
    *,
    survey_slug: str,
    secret: str,
    max_text_chars: int,
    pairs: Sequence[str] = (),
    skip_invalid: bool = False,
    on_chunk: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Store the responses of a CSV or Parquet file for survey ``survey_slug`` (the module says how);
    ``pairs``: ``FIELD=COLUMN``, a field read from another column."""
    with factory() as session:
        survey = session.scalars(
            select(Survey).where(Survey.slug == survey_slug).options(selectinload(Survey.questions))
        ).one_or_none()
        if survey is None:
            raise InvalidInput.on("survey", f"no survey {survey_slug!r}")
        if survey.status != SurveyStatus.OPEN:
            raise Gone(f"survey {survey_slug!r} is closed; open it before importing responses")
        definition, departments = SurveyDef.of(survey), department_slugs(session)
        fields = response_fields(survey)
        session.expunge(survey)
    columns = parse_mapping(pairs, fields)
    return import_rows(
        factory,
        lambda: read_records(path, columns, ("id", "submitted_at")),
        _parser(definition, departments, max_text_chars),
        _storer(survey, secret, max_text_chars),
        columns,
        skip_invalid,
        on_chunk,
    )
